// Package memory holds in-memory adapters: a store, a signer, a chain that
// models the Nitro 0.17.0 contracts, and a message bus. They exist for speed,
// demos and property tests, and behave like the real adapters.
package memory
