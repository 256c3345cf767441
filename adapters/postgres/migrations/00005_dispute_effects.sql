-- Version 5: the dispute effects (issue 13) in the outbox: a challenge, a
-- checkpoint answering a stale challenge, and the payout of a finalized
-- challenge (pushOutcomeAndTransferAll). The channel's dispute itself is
-- an optional suffix of its encoded row (codec_channel.go).

-- +goose Up
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('SignState', 'Send', 'Deposit', 'Conclude', 'Watch', 'SubmitChallenge', 'SubmitCheckpoint', 'PushOutcome'));

-- +goose Down
DELETE FROM outbox WHERE kind IN ('SubmitChallenge', 'SubmitCheckpoint', 'PushOutcome');
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('SignState', 'Send', 'Deposit', 'Conclude', 'Watch'));
