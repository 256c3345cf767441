// Package keys gives a wallet its signing key from where operators keep keys,
// an encrypted Ethereum keystore file (version 3, as geth and clef write
// them) or an environment variable, and signs with it in process.
//
// The key stays in this process's memory: stores never see it (the
// PostgreSQL adapter holds addresses, states and signatures only), and the
// core only ever receives the signatures as inputs.
package keys
