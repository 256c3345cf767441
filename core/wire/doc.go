// Package wire is a pure JSON codec between the statechannels wire format
// (@statechannels/wire-format@0.8.3, the messages @statechannels/server-wallet
// 1.13.1 exchanges) and the core types.
//
// Decoding is strict and bounded: unknown fields, missing required fields,
// wrong JSON types, malformed hex, out-of-range numbers and duplicate keys are
// rejected with typed errors (see ErrInvalidMessage), and size limits (see
// Limits) are enforced before any expensive work. Decoding is stricter than
// the published JSON schema where the schema is loose: addresses must be
// exactly 0x followed by 40 hex digits (the schema's pattern is unanchored),
// uint48 fields must be integers in 0..2^48-1, chainId must be a hex or
// decimal number, and signatures must be 65-byte r||s||v with v in 27/28 (or
// 0/1), and every string must be valid UTF-8 (JSON text is UTF-8;
// encoding/json and the schema validator would quietly replace each bad byte
// with U+FFFD). A signed state's claimed channelId is checked against the id computed
// from its fixed part. Limits.FormatOnly turns off the channelId and v checks
// (and only those) to check the format alone.
//
// Encoding emits exactly the shape the server wallet emits: the same key
// order, EIP-55 checksummed addresses, 32-byte padded destinations, amounts as
// 0x plus 64 hex digits and chainId as even-length 0x hex.
//
// The package does no I/O. Its only state is a bounded memo of the EIP-55
// forms of the addresses it has written.
package wire
