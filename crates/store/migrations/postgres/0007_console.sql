-- Indexes for the staff console's lists and figures.

-- Consent rates over the last days: an index range scan on time that covers the aggregation.
CREATE INDEX consent_event_at ON consent_event (at_us, target, granted);

-- The inbox in due order, with keyset paging on (promised_due, id).
CREATE INDEX request_promised_id ON request (promised_due, id);

-- The deadline hit rate: requests completed in a period.
CREATE INDEX request_closed ON request (state, closed_at_us);
