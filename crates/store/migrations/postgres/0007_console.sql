-- Indexes for the staff console's lists and figures.

-- Consent choices per UTC day and target, kept in the same transaction as the events (like
-- consent_state), so the console's consent rates read a few rows per day instead of every event.
-- `day` is at_us divided by the microseconds of a day.
CREATE TABLE consent_daily (
    day     BIGINT NOT NULL,
    target  TEXT    NOT NULL,
    granted BIGINT NOT NULL CHECK (granted >= 0),
    total   BIGINT NOT NULL CHECK (total >= granted),
    PRIMARY KEY (day, target)
);

INSERT INTO consent_daily (day, target, granted, total)
SELECT at_us / 86400000000, target, SUM(CASE WHEN granted THEN 1 ELSE 0 END), COUNT(*)
FROM consent_event
GROUP BY at_us / 86400000000, target;

-- The inbox in due order, with keyset paging on (promised_due, id).
CREATE INDEX request_promised_id ON request (promised_due, id);

-- The deadline hit rate: requests completed in a period.
CREATE INDEX request_closed ON request (state, closed_at_us);
