-- The wallet's schema, version 1. Every table lives in the store's own
-- PostgreSQL schema (Options.Schema), which Open puts first on search_path.
-- No private key is ever stored here: signers get keys from a keystore file
-- or the environment.
--
-- Channels, states and effects are stored in the store's compact binary
-- encoding (see codec.go), whose first byte is its format version: a
-- change to the core's types needs a new format (and a migration that
-- rewrites old rows); a binary refuses a format it does not read.
--
-- Every write of the store is one statement (see commit.go) that inserts
-- the rows of all four tables together, so the relations between them
-- (states, signatures and outbox entries of a stored channel) hold by
-- construction and are not checked by foreign keys: those would run one
-- query per inserted row at every commit.

-- +goose Up

-- One row: who may write (the fencing token of the process holding the
-- store's advisory lock; every commit checks it).
CREATE TABLE wallet (
    id        smallint    PRIMARY KEY CHECK (id = 1),
    owner     text        NOT NULL,
    opened_at timestamptz NOT NULL
);

-- One row: the next block to read chain events from. Only moves forward.
CREATE TABLE chain_cursor (
    id         smallint PRIMARY KEY CHECK (id = 1),
    next_block bigint   NOT NULL CHECK (next_block >= 0)
);
INSERT INTO chain_cursor (id, next_block) VALUES (1, 0);

-- The last channel nonce reserved per ordered participant list (the
-- concatenated 20-byte signing addresses).
CREATE TABLE channel_nonces (
    participants bytea  PRIMARY KEY,
    last_nonce   bigint NOT NULL CHECK (last_nonce > 0)
);

-- One row per channel: the columns people query, plus the whole
-- core.Channel in the compact encoding that Get returns (a running
-- two-party channel holding five states is about 1.3 kB: states share the
-- setup's fixed part and repeated outcomes). version counts the
-- statements that wrote the row. Rows are rewritten on every Step;
-- fillfactor leaves room on each page so that the rewrite is a HOT update
-- (no index entry); rows too large to stay inline are compressed with lz4.
CREATE TABLE channels (
    id             bytea       PRIMARY KEY CHECK (length(id) = 32),
    status         text        NOT NULL,
    funding_status text        NOT NULL,
    turn_num       bigint      NOT NULL CHECK (turn_num >= 0),
    my_index       integer     NOT NULL,
    data           bytea       COMPRESSION lz4 NOT NULL,
    version        bigint      NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
) WITH (toast_tuple_target = 8160, fillfactor = 50);
CREATE INDEX channels_status ON channels (status);

-- Every state the wallet ever held (signed by someone), kept after the
-- channel row prunes it: the evidence behind each signature. state is the
-- encoded nitro.State; written once, when its first signature arrives.
CREATE TABLE states (
    channel_id  bytea       NOT NULL,
    turn_num    bigint      NOT NULL,
    state_hash  bytea       NOT NULL CHECK (length(state_hash) = 32),
    is_final    boolean     NOT NULL,
    state       bytea       NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, turn_num, state_hash)
);

-- Every signature the wallet ever made or received, per channel, turn and
-- signer. The key includes the state hash on purpose: two different states
-- signed by one key for one turn must be recorded, not refused, so that
-- audits (and the crash test) can find them. Each signature's state is in
-- states (same channel_id, turn_num, state_hash).
CREATE TABLE signatures (
    channel_id  bytea       NOT NULL,
    turn_num    bigint      NOT NULL,
    signer      bytea       NOT NULL CHECK (length(signer) = 20),
    state_hash  bytea       NOT NULL,
    signature   bytea       NOT NULL CHECK (length(signature) = 65),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, turn_num, signer, state_hash)
);

-- The transactional outbox: effects committed with the state that asked
-- for them, in commit order (id), carried out after the commit and then
-- deleted (Done): every row is pending. kind names the core effect type;
-- effect is its encoding.
CREATE TABLE outbox (
    id         bigserial   PRIMARY KEY,
    channel_id bytea       NOT NULL,
    kind       text        NOT NULL CHECK (kind IN ('SignState', 'Send', 'Deposit', 'Conclude', 'Watch')),
    effect     bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Objectives are not stored separately: the core derives them from the
-- channel (an OpenChannel objective from creation to running, a
-- CloseChannel objective from the first final state to the payout), so a
-- view keeps them consistent by construction and costs no write.
CREATE VIEW objectives AS
SELECT id AS channel_id, 'OpenChannel'::text AS type,
       CASE WHEN status = 'proposed' THEN 'proposed'
            WHEN status IN ('opening', 'funding') THEN 'approved'
            ELSE 'completed' END AS status
  FROM channels
UNION ALL
SELECT id, 'CloseChannel',
       CASE WHEN funding_status = 'Defunded' THEN 'completed' ELSE 'approved' END
  FROM channels
 WHERE status IN ('closing', 'closed');

-- +goose Down
DROP VIEW objectives;
DROP TABLE outbox;
DROP TABLE signatures;
DROP TABLE states;
DROP TABLE channels;
DROP TABLE channel_nonces;
DROP TABLE chain_cursor;
DROP TABLE wallet;
