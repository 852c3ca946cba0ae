-- The yardstick's tables: every transaction once, by id, with the envelope exactly as a
-- Suyuan node stores it, and the two lookups a regulator's service answers most: the records
-- of a code (a product page) and of an enterprise (its listing), in the order they were
-- stored. `seq` is that order; the service gives it, so one service writes to a database at a
-- time. No foreign keys: the service writes a transaction and its index rows in one database
-- transaction.

CREATE TABLE IF NOT EXISTS transactions (
    id       bytea  PRIMARY KEY CHECK (length(id) = 32),
    seq      bigint NOT NULL UNIQUE,
    kind     text   NOT NULL,
    envelope bytea  NOT NULL
);

CREATE TABLE IF NOT EXISTS code_records (
    code text   NOT NULL,
    seq  bigint NOT NULL,
    PRIMARY KEY (code, seq)
);

CREATE TABLE IF NOT EXISTS enterprise_records (
    uscc text   NOT NULL,
    seq  bigint NOT NULL,
    PRIMARY KEY (uscc, seq)
);
