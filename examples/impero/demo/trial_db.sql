-- The demo's trial and demo accounts database: system `trial_db` of examples/impero/datamap.yaml.
-- SQLite. Every table and column here is declared in the data map (a test of the policy crate
-- checks that the two agree). The people are made up; Ann Example (ann@example.com) has rows in
-- every table, so a newcomer can make an access or erasure request for her in `ombud demo`.

PRAGMA foreign_keys = ON;

CREATE TABLE account (
  id           INTEGER PRIMARY KEY,
  company_name TEXT NOT NULL,
  created_at   TEXT NOT NULL
);

CREATE TABLE trial_user (
  id         INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL REFERENCES account (id),
  email      TEXT NOT NULL UNIQUE,
  full_name  TEXT NOT NULL,
  phone      TEXT,
  job_title  TEXT,
  created_at TEXT NOT NULL,
  restricted INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE login_event (
  id         INTEGER PRIMARY KEY,
  user_id    INTEGER NOT NULL REFERENCES trial_user (id),
  ip_address TEXT,
  user_agent TEXT,
  at         TEXT NOT NULL
);

CREATE TABLE support_ticket (
  id         INTEGER PRIMARY KEY,
  user_id    INTEGER NOT NULL REFERENCES trial_user (id),
  subject    TEXT NOT NULL,
  body       TEXT,
  created_at TEXT NOT NULL
);

CREATE TABLE invoice (
  id            INTEGER PRIMARY KEY,
  account_id    INTEGER NOT NULL REFERENCES account (id),
  user_id       INTEGER REFERENCES trial_user (id),
  billing_name  TEXT NOT NULL,
  billing_email TEXT NOT NULL,
  amount_cents  INTEGER NOT NULL,
  issued_at     TEXT NOT NULL,
  restricted    INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX trial_user_account_idx ON trial_user (account_id);
CREATE INDEX login_event_user_idx ON login_event (user_id);
CREATE INDEX support_ticket_user_idx ON support_ticket (user_id);
CREATE INDEX invoice_user_idx ON invoice (user_id);
CREATE INDEX invoice_account_idx ON invoice (account_id);

INSERT INTO account (id, company_name, created_at) VALUES
  (1, 'Example A/S', '2026-03-02T09:14:00Z'),
  (2, 'Nordlys Energi ApS', '2026-04-11T13:02:00Z'),
  (3, 'Fjordhavn Logistik A/S', '2026-06-23T08:40:00Z'),
  (4, 'Bølgen Kommune', '2026-09-05T10:25:00Z');

INSERT INTO trial_user (id, account_id, email, full_name, phone, job_title, created_at) VALUES
  (1, 1, 'ann@example.com', 'Ann Example', '+45 20 12 34 56', 'Head of Internal Audit', '2026-03-02T09:14:00Z'),
  (2, 1, 'bo.larsen@example.com', 'Bo Larsen', '+45 20 22 10 01', 'Controller', '2026-03-03T11:20:00Z'),
  (3, 1, 'carla.moreno@example.com', 'Carla Moreno', NULL, 'CFO', '2026-03-09T15:45:00Z'),
  (4, 2, 'dina.holm@example.net', 'Dina Holm', '+45 31 44 55 66', 'Risk Manager', '2026-04-11T13:02:00Z'),
  (5, 2, 'erik.vang@example.net', 'Erik Vang', NULL, 'Compliance Officer', '2026-04-12T08:30:00Z'),
  (6, 2, 'frida.nielsen@example.net', 'Frida Nielsen', '+45 31 40 40 40', NULL, '2026-04-20T10:05:00Z'),
  (7, 2, 'gustav.berg@example.net', 'Gustav Berg', NULL, 'IT Manager', '2026-05-02T14:10:00Z'),
  (8, 3, 'hanne.dahl@example.org', 'Hanne Dahl', '+45 42 11 22 33', 'Head of Finance', '2026-06-23T08:40:00Z'),
  (9, 3, 'ib.kristensen@example.org', 'Ib Kristensen', NULL, 'Tax Specialist', '2026-06-24T09:00:00Z'),
  (10, 3, 'jonas.friis@example.org', 'Jonas Friis', '+45 42 99 88 77', 'Internal Auditor', '2026-07-01T12:30:00Z'),
  (11, 4, 'karen.lund@example.com', 'Karen Lund', '+45 53 10 20 30', 'Audit Manager', '2026-09-05T10:25:00Z'),
  (12, 4, 'lars.mikkelsen@example.com', 'Lars Mikkelsen', NULL, 'Process Owner', '2026-09-06T13:15:00Z'),
  (13, 4, 'mette.skov@example.com', 'Mette Skov', '+45 53 77 66 55', 'Digitalisation Lead', '2026-09-10T09:50:00Z'),
  (14, 4, 'niels.bak@example.com', 'Niels Bak', NULL, NULL, '2026-10-01T16:00:00Z');

UPDATE trial_user SET restricted = 1 WHERE id = 12;

INSERT INTO login_event (id, user_id, ip_address, user_agent, at) VALUES
  (1, 1, '192.0.2.10', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/128.0', '2026-03-02T09:20:11Z'),
  (2, 1, '192.0.2.10', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/128.0', '2026-03-04T08:02:47Z'),
  (3, 1, '198.51.100.23', 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1', '2026-03-10T19:31:05Z'),
  (4, 2, '192.0.2.11', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Safari/605.1.15', '2026-03-03T11:25:00Z'),
  (5, 3, '192.0.2.12', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/126.0', '2026-03-09T15:50:30Z'),
  (6, 4, '203.0.113.40', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0', '2026-04-11T13:05:00Z'),
  (7, 4, '203.0.113.40', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0', '2026-04-15T07:58:12Z'),
  (8, 5, '203.0.113.41', 'Mozilla/5.0 (X11; Linux x86_64) Firefox/127.0', '2026-04-12T08:31:40Z'),
  (9, 7, '203.0.113.42', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0', '2026-05-02T14:12:09Z'),
  (10, 8, '198.51.100.70', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Chrome/126.0', '2026-06-23T08:41:00Z'),
  (11, 10, '198.51.100.71', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/128.0', '2026-07-01T12:33:21Z'),
  (12, 11, '192.0.2.80', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/127.0', '2026-09-05T10:26:44Z'),
  (13, 13, '192.0.2.81', 'Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) Safari/604.1', '2026-09-10T09:55:02Z');

INSERT INTO support_ticket (id, user_id, subject, body, created_at) VALUES
  (1, 1, 'Inviting colleagues to the trial', 'How do I add my two colleagues to our trial account?', '2026-03-02T10:02:00Z'),
  (2, 1, 'Export of control tests', 'Can the control test results be exported to Excel before the audit committee meeting?', '2026-03-11T08:45:00Z'),
  (3, 4, 'Single sign-on', 'Does the trial support sign-in with our Microsoft Entra ID?', '2026-04-14T09:10:00Z'),
  (4, 8, 'Extend the trial', 'We need two more weeks to finish our evaluation.', '2026-07-15T13:00:00Z'),
  (5, 11, 'Danish interface', 'Is the platform available in Danish for our process owners?', '2026-09-08T11:30:00Z'),
  (6, 13, 'Password reset', NULL, '2026-09-12T07:45:00Z');

INSERT INTO invoice (id, account_id, user_id, billing_name, billing_email, amount_cents, issued_at) VALUES
  (1, 1, 1, 'Ann Example', 'ann@example.com', 1250000, '2026-04-01T00:00:00Z'),
  (2, 2, 4, 'Dina Holm', 'dina.holm@example.net', 980000, '2026-05-15T00:00:00Z'),
  (3, 2, 4, 'Dina Holm', 'dina.holm@example.net', 980000, '2026-08-15T00:00:00Z'),
  (4, 3, 8, 'Hanne Dahl', 'invoices@example.org', 1500000, '2026-08-01T00:00:00Z'),
  (5, 4, NULL, 'Bølgen Kommune, Økonomi', 'faktura@example.com', 2100000, '2026-10-20T00:00:00Z');
