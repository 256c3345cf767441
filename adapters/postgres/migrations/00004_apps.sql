-- Version 4: registered apps (issue 12). The runtime code the wallet runs
-- as the app at an address, to judge transitions exactly as the
-- adjudicator would. A row is never changed: a channel may rely on the
-- verdicts of the code first registered, so other code for the same
-- address is refused. Code is bounded by EIP-170 (24,576 bytes).

-- +goose Up
CREATE TABLE apps (
    address       bytea       PRIMARY KEY CHECK (length(address) = 20),
    code          bytea       NOT NULL CHECK (length(code) BETWEEN 1 AND 24576),
    registered_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE apps;
