-- TOTP secrets are sealed at rest (ombud_store::seal): a version byte, the key id, a nonce,
-- the ciphertext and its tag, 49 bytes more than the 16 to 64 bytes of the secret. Secrets
-- stored in clear before this migration are dropped (their users enrol again), rather than
-- kept in clear or refused at every login.
UPDATE staff_user SET totp_secret = NULL, totp_last_step = NULL WHERE totp_secret IS NOT NULL;
ALTER TABLE staff_user DROP CONSTRAINT staff_user_totp_secret_check;
ALTER TABLE staff_user ADD CONSTRAINT staff_user_totp_secret_check
    CHECK (octet_length(totp_secret) BETWEEN 65 AND 113);
