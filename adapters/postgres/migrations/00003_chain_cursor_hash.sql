-- The chain cursor keeps the hash of its block, a few older checkpoints
-- and a count of rewinds (issue 19): a wallet finds out whether the block
-- it stopped at is still on the node's chain, and where the chain it saw
-- and the node's part. Rows of version 2 (a bare block number) get no
-- hash, which the wallet trusts once.

-- +goose Up
ALTER TABLE chain_cursor
    ADD COLUMN block_hash bytea  NOT NULL DEFAULT '' CHECK (length(block_hash) IN (0, 32)),
    -- checkpoints, newest first: 8-byte big-endian block, 32-byte hash each
    ADD COLUMN recent     bytea  NOT NULL DEFAULT '' CHECK (length(recent) % 40 = 0),
    ADD COLUMN rewinds    bigint NOT NULL DEFAULT 0 CHECK (rewinds >= 0);

-- +goose Down
ALTER TABLE chain_cursor DROP COLUMN block_hash, DROP COLUMN recent, DROP COLUMN rewinds;
