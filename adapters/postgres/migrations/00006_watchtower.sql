-- Version 6: the watchtower's tables (issue 13, item 5; package
-- watchtower, WatchStore in watchstore.go). A watcher keeps, per channel,
-- the newest support proof wallets handed it (its JSON format, see
-- docs/watchtower.md), the challenges it must answer (alarms) and its own
-- chain cursor. A wallet's schema leaves them empty.

-- +goose Up
CREATE TABLE watch_proofs (
    channel_id bytea  PRIMARY KEY CHECK (length(channel_id) = 32),
    turn_num   bigint NOT NULL CHECK (turn_num >= 0),
    proof      bytea  NOT NULL
);
CREATE TABLE watch_alarms (
    channel_id      bytea  PRIMARY KEY CHECK (length(channel_id) = 32),
    turn_num_record bigint NOT NULL CHECK (turn_num_record >= 0),
    finalizes_at    bigint NOT NULL CHECK (finalizes_at >= 0)
);
CREATE TABLE watch_cursor (
    id         int    PRIMARY KEY CHECK (id = 1),
    next_block bigint NOT NULL CHECK (next_block >= 0),
    block_hash bytea  NOT NULL CHECK (length(block_hash) IN (0, 32)),
    recent     bytea  NOT NULL CHECK (length(recent) % 40 = 0),
    rewinds    bigint NOT NULL CHECK (rewinds >= 0)
);
INSERT INTO watch_cursor (id, next_block, block_hash, recent, rewinds) VALUES (1, 0, '', '', 0);

-- +goose Down
DROP TABLE watch_cursor;
DROP TABLE watch_alarms;
DROP TABLE watch_proofs;
