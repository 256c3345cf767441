// Package nitro holds the Nitro protocol's data types and their encodings,
// byte-identical to @statechannels/nitro-protocol@0.17.0: channel id,
// appPartHash, outcome bytes and hash, state hash, and eth_sign signature
// recovery. It is pure: no I/O, no clock, no randomness, no private keys.
package nitro
