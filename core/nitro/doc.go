// Package nitro holds the Nitro protocol's data types and their encodings,
// byte-identical to @statechannels/nitro-protocol@0.17.0: channel id,
// appPartHash, outcome bytes and hash, state hash, and eth_sign signature
// recovery. State.HashFor and Outcome.HashFor give the state and outcome
// hashes of another generation (Protocol0101: nitro-protocol@0.10.1, the
// TypeScript server wallet 1.13.1's), checked against that package's
// helpers too. It is pure: no I/O, no clock, no randomness, no private keys.
package nitro
