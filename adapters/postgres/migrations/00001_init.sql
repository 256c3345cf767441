-- The wallet's schema, version 1. Every table lives in the store's own
-- PostgreSQL schema (Options.Schema), which Open puts first on search_path.
-- No private key is ever stored here: signers get keys from a keystore file
-- or the environment.

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
-- core.Channel as JSON (format 1 = encoding/json of core.Channel) that Get
-- returns. version counts the transactions that wrote the row. Rows are
-- rewritten on every Step: a typical two-party row (~5 kB) stays inline and
-- uncompressed (toast_tuple_target), larger ones are compressed with lz4.
CREATE TABLE channels (
    id             bytea       PRIMARY KEY CHECK (length(id) = 32),
    status         text        NOT NULL,
    funding_status text        NOT NULL,
    turn_num       bigint      NOT NULL,
    my_index       integer     NOT NULL,
    format         smallint    NOT NULL,
    data           json        COMPRESSION lz4 NOT NULL,
    version        bigint      NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
) WITH (toast_tuple_target = 8160, fillfactor = 70);
CREATE INDEX channels_status ON channels (status);

-- Every state the wallet ever held (signed by someone), kept after the
-- channel row prunes it: the evidence behind each signature.
CREATE TABLE states (
    channel_id  bytea       NOT NULL REFERENCES channels (id) DEFERRABLE INITIALLY DEFERRED,
    turn_num    bigint      NOT NULL,
    state_hash  bytea       NOT NULL CHECK (length(state_hash) = 32),
    is_final    boolean     NOT NULL,
    state       json        COMPRESSION lz4 NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, turn_num, state_hash)
);

-- Every signature the wallet ever made or received, per channel, turn and
-- signer. The key includes the state hash on purpose: two different states
-- signed by one key for one turn must be recorded, not refused, so that
-- audits (and the crash test) can find them.
CREATE TABLE signatures (
    channel_id  bytea       NOT NULL,
    turn_num    bigint      NOT NULL,
    signer      bytea       NOT NULL CHECK (length(signer) = 20),
    state_hash  bytea       NOT NULL,
    signature   bytea       NOT NULL CHECK (length(signature) = 65),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, turn_num, signer, state_hash),
    FOREIGN KEY (channel_id, turn_num, state_hash) REFERENCES states DEFERRABLE INITIALLY DEFERRED
);

-- The transactional outbox: effects committed with the state that asked
-- for them, in commit order, carried out after the commit and then marked
-- done. kind names the core effect type; effect is its JSON.
CREATE TABLE outbox (
    id         bigserial   PRIMARY KEY,
    channel_id bytea       NOT NULL REFERENCES channels (id) DEFERRABLE INITIALLY DEFERRED,
    kind       text        NOT NULL CHECK (kind IN ('SignState', 'Send', 'Deposit', 'Conclude', 'Watch')),
    effect     json        COMPRESSION lz4 NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    done_at    timestamptz
);
CREATE INDEX outbox_pending ON outbox (id) WHERE done_at IS NULL;

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
