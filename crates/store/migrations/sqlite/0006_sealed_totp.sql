-- TOTP secrets are sealed at rest (ombud_store::seal): a version byte, the key id, a nonce,
-- the ciphertext and its tag, 49 bytes more than the 16 to 64 bytes of the secret. SQLite
-- cannot change a CHECK constraint in place, so the column is replaced: secrets stored in clear
-- before this migration are dropped (their users enrol again), rather than kept in clear or
-- refused at every login.
ALTER TABLE staff_user RENAME COLUMN totp_secret TO totp_secret_clear;
ALTER TABLE staff_user DROP COLUMN totp_secret_clear;
ALTER TABLE staff_user ADD COLUMN totp_secret BLOB CHECK (length(totp_secret) BETWEEN 65 AND 113);
UPDATE staff_user SET totp_last_step = NULL;
