-- A small shop with varied content: unicode, binary, JSON, numerics, a view,
-- a function, a trigger, a sequence that has advanced, and an empty table.
CREATE TABLE customers (
  id         bigserial PRIMARY KEY,
  name       text NOT NULL,
  email      text UNIQUE,
  created_at timestamptz NOT NULL DEFAULT '2026-01-01 00:00:00+00'
);
CREATE TABLE products (
  sku        text PRIMARY KEY,
  title      text NOT NULL,
  price      numeric(10,2) NOT NULL CHECK (price >= 0),
  attributes jsonb NOT NULL DEFAULT '{}',
  photo      bytea
);
CREATE TABLE orders (
  id          bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers(id),
  sku         text NOT NULL REFERENCES products(sku),
  quantity    int NOT NULL,
  placed_at   timestamptz NOT NULL,
  note        text
);
CREATE TABLE audit_log (id bigserial PRIMARY KEY, entry text, at timestamptz DEFAULT now());
CREATE TABLE returns (id bigserial PRIMARY KEY, order_id bigint REFERENCES orders(id)); -- stays empty

INSERT INTO customers (name, email)
SELECT name, lower(replace(name, ' ', '.')) || i || '@example.com'
FROM (VALUES ('Zoë Ångström'), ('José Müller'), ('李小龍'), ('Ørjan Ñúñez'), ('Αλέξανδρος'), ('Plain Jane')) AS n(name),
     generate_series(1, 500) AS i;

INSERT INTO products (sku, title, price, attributes, photo)
SELECT 'SKU-' || lpad(i::text, 5, '0'), 'Product ' || i || ' — ☕ édition',
       round((i * 1.37)::numeric, 2), jsonb_build_object('color', (ARRAY['red','green','blue'])[1 + i % 3], 'size', i % 7),
       CASE WHEN i % 10 = 0 THEN NULL ELSE decode(md5(i::text) || md5((i+1)::text), 'hex') END
FROM generate_series(1, 2000) AS i;
-- One photo holding every byte value.
UPDATE products SET photo = (SELECT string_agg(set_byte('\x00'::bytea, 0, b), ''::bytea) FROM generate_series(0, 255) AS b) WHERE sku = 'SKU-00001';

CREATE FUNCTION log_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit_log (entry, at) VALUES ('order ' || NEW.id, NEW.placed_at);
  RETURN NEW;
END $$;
CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION log_order();

INSERT INTO orders (customer_id, sku, quantity, placed_at, note)
SELECT 1 + (i * 7919) % 3000, 'SKU-' || lpad((1 + (i * 104729) % 2000)::text, 5, '0'), 1 + i % 5,
       '2026-01-01'::timestamptz + (i || ' minutes')::interval,
       CASE WHEN i % 97 = 0 THEN 'gift wrap, please 🎁' END
FROM generate_series(1::bigint, 50000::bigint) AS i;

CREATE VIEW revenue_by_customer AS
  SELECT c.id, c.name, sum(o.quantity * p.price) AS revenue
  FROM orders o JOIN customers c ON c.id = o.customer_id JOIN products p ON p.sku = o.sku
  GROUP BY c.id, c.name;

CREATE FUNCTION order_total(order_id bigint) RETURNS numeric LANGUAGE sql STABLE AS $$
  SELECT o.quantity * p.price FROM orders o JOIN products p ON p.sku = o.sku WHERE o.id = order_id
$$;

CREATE SEQUENCE invoice_numbers START 1000;
SELECT nextval('invoice_numbers') FROM generate_series(1, 42);
