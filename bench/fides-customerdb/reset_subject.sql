-- The schema and data generator that Fides 2.78.2 was measured on (same 2-core machine), for
-- the comparison in bench/execution.sh. Unchanged below this header.
-- restore the data subject after an erasure run
DELETE FROM orders WHERE customer_id IN (SELECT id FROM customer WHERE email IN ('subject@example.com','MASKED'));
DELETE FROM address WHERE customer_id IN (SELECT id FROM customer WHERE email IN ('subject@example.com','MASKED'));
DELETE FROM customer WHERE email IN ('subject@example.com','MASKED');
INSERT INTO customer (email, name, phone) VALUES ('subject@example.com', 'Jane Subject', '+15550000000');
INSERT INTO address (customer_id, street, city, zip)
  SELECT c.id, s || ' Subject Rd', 'Subjectville', '99999' FROM customer c, generate_series(1,3) s WHERE c.email = 'subject@example.com';
INSERT INTO orders (customer_id, address_id, total_cents, note)
  SELECT c.id, (SELECT min(a.id) FROM address a WHERE a.customer_id = c.id), 1000 + s, 'subject order ' || s
  FROM customer c, generate_series(1,20) s WHERE c.email = 'subject@example.com';
