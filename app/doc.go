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
//
// # Contexts and retries
//
// A call checks its context before it commits anything: if the context
// has ended by then, the call returns the context's error (errors.Is(err,
// context.Canceled) or context.DeadlineExceeded holds) and nothing stored
// has changed. A state the call must sign is signed before that commit
// (signatures are deterministic, RFC 6979, and none leaves the process
// before the commit that holds it), so an update is one store commit per
// wallet: the signed state with the messages that carry it. A crash or a
// cancelled context before the commit forgets the signature; after it the
// outbox resends the same bytes. Once the call has committed, cancelling
// the context no longer stops it: the effects it caused (sending,
// depositing) are carried out under context.WithoutCancel, bounded only by
// the context's deadline, and the call returns its result. If one of those
// effects fails (a transaction, or the signer when it could not sign before
// the commit: then the intent to sign is committed instead) or the
// deadline passes first, the call returns by its deadline with an error
// matching ErrIncomplete (and the cause, such as ErrSigner or ErrStore):
// what it committed stays durable and is carried out on the next Tick or
// restart, or by a retry of the call. The marks that a call's effects are
// done ride on the wallet's next commit (Config.DoneFlushDelay; Flush
// writes them at once).
//
// Retrying a call is idempotent: UpdateChannel with the same outcome and
// appData as this wallet's latest state, or CloseChannel after this
// wallet's own CloseChannel, returns that state's result (its message
// resent to every peer, which peers ignore as a duplicate) instead of
// ErrNotYourTurn, ErrSigningInProgress or ErrChannelClosed, carrying out
// whatever the first attempt left pending. Two identical UpdateChannel calls
// are therefore one intent; an identical update made after a peer's move
// (when it is this wallet's turn again) is a new one.
//
// # Errors
//
// Every error a call returns matches an exported Err* of this package with
// errors.Is: the core's and the wire codec's sentinels are re-exported, and
// the wallet's own failures are ErrClosed, ErrContextDone, ErrIncomplete,
// ErrStore (wrapping what the store said) and ErrSigner. Code(err) gives the
// client API's error code where the API has one for that call and cause
// (CreateChannel 1000/1001, JoinChannel 1100/1101, UpdateChannel 400-404,
// CloseChannel 300/301, PushMessage 900/1001, GetState 1200, SyncChannel
// 1400, RegisterAppDefinition and RegisterAppBytecode 1001; the batch
// calls CreateChannels, JoinChannels, CloseChannels and SyncChannels those
// of their single call), and CodeWalletError (500) otherwise.
//
// # Batch calls
//
// CreateChannels, JoinChannels, CloseChannels and SyncChannels do what
// their single calls do for many channels (at most MaxBatchChannels) in
// one call: all or nothing, one store commit, one result with every
// channel and one merged message per peer (see MaxBatchChannels). Every
// call's outbox is merged and deduplicated, as the TypeScript server
// wallet's mergeOutgoing does: one message per recipient, each state
// (channel and turn) once with its signatures merged, each objective and
// request once.
//
// # Apps
//
// RegisterAppDefinition (the code read through the chain port,
// eth_getCode at the confirmed block) and RegisterAppBytecode register an
// app: its code is prepared as an apprules.App, stored durably
// (Store.RegisterApp) and kept in memory; New loads every stored app. An
// app's code never changes once registered: other code for its address is
// refused (ErrAppCodeConflict). The registry decides which channels the
// wallet takes part in, before anything is stored or signed:
//
//   - CreateChannel with a non-zero appDefinition not registered is
//     refused with ErrInvalidAppDefinition (code 1001), before a nonce is
//     reserved.
//   - A peer's proposal (PushMessage) with a non-zero appDefinition not
//     registered is refused in the same way (the whole message, code 1001),
//     before the proposal policy sees it; the app is not fetched from the
//     chain on the peer's say-so: register it, then the peer's message
//     (or SyncChannel) goes through.
//   - appDefinition 0 (no app) needs no registration and keeps today's
//     rules; the rule that makes its running states provable on chain
//     comes with the transition rules (issue 12, item 4).
//
// Every running or final transition of a channel with a registered app,
// the ones the wallet signs (UpdateChannel, CloseChannel) and the ones it
// accepts (PushMessage, held states applied later), must pass the
// adjudicator's rule with the app's validTransition run in a local EVM
// (core.StepWith with apprules.ValidTransition): a refusal is ErrAppRule,
// an ErrInvalidTransition (code 401 on update; the message is refused at
// push), and nothing is stored or signed. appDefinition 0 is checked for
// turn, mover and totals only, as before.
//
// # Chain rewinds
//
// The wallet follows chain events from a cursor it stores: the block and
// hash of the last event it applied, with a few older checkpoints. When
// the chain drops blocks it read (a reorg deeper than the confirmation
// depth, a node that came back lower or empty), the chain adapter sends a
// rewind at the common ancestor; the wallet then re-reads every channel's
// holdings from the chain, steps each with core.Rewound (funding again a
// running channel whose deposits vanished, concluding again one whose
// payout vanished), moves the cursor back, reads the events after the
// ancestor again, logs a warning and publishes a ChainRewound notification
// listing the channels affected. Stats.ChainRewinds counts the rewinds.
//
// # Metrics
//
// Stats returns the wallet's counters (atomic, cheap to read): requests
// from peers answered and dropped, notifications dropped, chain rewinds,
// states signed and received by kind, and chain transactions by what the
// chain port answered. ObserveCommits times the wallet's store commits,
// ObserveStoreBatches reports a group-committing store's transactions,
// and Snapshot counts the channels by status and the pending outbox
// effects (two store reads). Package server/metrics exports them to
// Prometheus (docs/metrics.md).
//
// # Closing
//
// Close refuses every call made after it began (ErrClosed; Subscribe gives
// a closed stream) and returns once the calls in flight have finished and
// the background work has stopped.
package app
