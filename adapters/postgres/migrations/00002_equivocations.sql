-- Version 2: evidence of equivocation. A participant that signs two
-- different states for one turn of a channel has proven itself dishonest;
-- the wallet refuses the second state and keeps both here. One row per
-- channel and signer (the first proof; later ones are dropped), so a
-- hostile peer cannot grow the table beyond its channels. evidence is a
-- statechannels wire-format message carrying the two signed states (the
-- one held first, then the one received), readable by any wire decoder.

-- +goose Up
CREATE TABLE equivocations (
    channel_id  bytea       NOT NULL CHECK (length(channel_id) = 32),
    signer      bytea       NOT NULL CHECK (length(signer) = 20),
    turn_num    bigint      NOT NULL CHECK (turn_num >= 0),
    evidence    bytea       NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel_id, signer)
);

-- +goose Down
DROP TABLE equivocations;
