-- Version 7: signatures kept with their state (issue 16, fewer rows per
-- update). A state inserted by a commit carries, in its signatures column,
-- the signatures the same commit brought for it, as 85-byte records
-- (signer address, 20 bytes, then the 65-byte signature); signatures that
-- come after their state was stored go to the signatures table as before.
-- Store.Signatures reads both.

-- +goose Up
ALTER TABLE states ADD COLUMN signatures bytea NOT NULL DEFAULT '\x'::bytea
    CHECK (length(signatures) % 85 = 0);

-- +goose Down
INSERT INTO signatures (channel_id, turn_num, signer, state_hash, signature)
SELECT s.channel_id, s.turn_num, substring(s.signatures FROM k * 85 + 1 FOR 20), s.state_hash,
       substring(s.signatures FROM k * 85 + 21 FOR 65)
  FROM states s, generate_series(0, length(s.signatures) / 85 - 1) AS k
ON CONFLICT DO NOTHING;
ALTER TABLE states DROP COLUMN signatures;
