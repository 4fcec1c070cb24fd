-- The schema and data generator that Fides 2.78.2 was measured on (same 2-core machine), for
-- the comparison in bench/execution.sh. Unchanged below this header.
-- usage: psql -v k=1000 -f heavy_subject.sql customerdb ; a subject owning k addresses and k orders
DELETE FROM orders WHERE customer_id IN (SELECT id FROM customer WHERE email IN ('heavy@example.com','MASKED'));
DELETE FROM address WHERE customer_id IN (SELECT id FROM customer WHERE email IN ('heavy@example.com','MASKED'));
DELETE FROM customer WHERE email IN ('heavy@example.com','MASKED');
INSERT INTO customer (email, name, phone) VALUES ('heavy@example.com', 'Heavy Subject', '+15551111111');
INSERT INTO address (customer_id, street, city, zip)
  SELECT c.id, s || ' Heavy Ave', 'Heavytown', '11111' FROM customer c, generate_series(1, :k) s WHERE c.email = 'heavy@example.com';
INSERT INTO orders (customer_id, address_id, total_cents, note)
  SELECT c.id, NULL, s, 'heavy order ' || s FROM customer c, generate_series(1, :k) s WHERE c.email = 'heavy@example.com';
