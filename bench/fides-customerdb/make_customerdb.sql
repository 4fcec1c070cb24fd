-- The schema and data generator that Fides 2.78.2 was measured on (same 2-core machine), for
-- the comparison in bench/execution.sh. Unchanged below this header.
-- usage: psql -v n=10000 -f make_customerdb.sql customerdb
DROP TABLE IF EXISTS orders, address, customer CASCADE;
CREATE TABLE customer (
  id         bigserial PRIMARY KEY,
  email      text NOT NULL,
  name       text,
  phone      text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE address (
  id          bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customer(id),
  street      text,
  city        text,
  zip         text
);
CREATE TABLE orders (
  id          bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customer(id),
  address_id  bigint REFERENCES address(id),
  total_cents integer NOT NULL,
  note        text,
  created_at  timestamptz NOT NULL DEFAULT now()
);
-- n customers, n addresses (1 per customer), n orders (spread over customers)
INSERT INTO customer (email, name, phone)
  SELECT 'user' || g || '@example.com', 'Name ' || g, '+1555' || lpad(g::text, 7, '0')
  FROM generate_series(1, :n) g;
INSERT INTO address (customer_id, street, city, zip)
  SELECT g, g || ' Main St', 'City' || (g % 1000), lpad((g % 100000)::text, 5, '0')
  FROM generate_series(1, :n) g;
INSERT INTO orders (customer_id, address_id, total_cents, note)
  SELECT ((g::bigint * 7919) % :n) + 1, ((g::bigint * 7919) % :n) + 1, (g % 50000), 'gift wrap ' || g
  FROM generate_series(1, :n) g;
-- the data subject under test: 1 customer row, 3 addresses, 20 orders
INSERT INTO customer (email, name, phone) VALUES ('subject@example.com', 'Jane Subject', '+15550000000');
INSERT INTO address (customer_id, street, city, zip)
  SELECT c.id, s || ' Subject Rd', 'Subjectville', '99999' FROM customer c, generate_series(1,3) s WHERE c.email = 'subject@example.com';
INSERT INTO orders (customer_id, address_id, total_cents, note)
  SELECT c.id, (SELECT min(a.id) FROM address a WHERE a.customer_id = c.id), 1000 + s, 'subject order ' || s
  FROM customer c, generate_series(1,20) s WHERE c.email = 'subject@example.com';
CREATE INDEX customer_email_idx ON customer(email);
CREATE INDEX address_customer_idx ON address(customer_id);
CREATE INDEX orders_customer_idx ON orders(customer_id);
CREATE INDEX orders_address_idx ON orders(address_id);
ANALYZE;
SELECT (SELECT count(*) FROM customer) AS customers, (SELECT count(*) FROM address) AS addresses, (SELECT count(*) FROM orders) AS orders;
