// Package app is the wallet users import. A Wallet runs the pure core against
// real adapters: each call steps the channel, commits the new state and its
// effects to the store, then carries the effects out (sign, send, deposit,
// conclude), feeding their results back as inputs until the channel is quiet.
//
// Calls on one channel are serialized; calls on different channels run in
// parallel. Every call returns the channel results it touched and the
// outbox: wire messages (MessageQueued) for the application to deliver to
// its peers. Messages caused by chain events or time, not by a call, are
// published to subscribers as MessageQueued notifications.
package app
