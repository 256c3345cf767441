// Package sim runs several nitrowallet wallets, each a real app.Wallet over
// the memory adapters, in one deterministic world: the test (or the
// `nitrowallet sim` command) decides when every message is delivered,
// dropped, duplicated or reordered, when blocks are mined or reorganised,
// when each wallet sees each chain event, when time passes and when a wallet
// crashes and restarts from its store. Nothing runs on its own: wallets have
// no ticker (TickInterval < 0), the chain mines only when told, and chain
// events reach a wallet's follower goroutine one at a time through a stream
// the world feeds, followed by a no-op barrier event so that the world knows
// when the wallet has processed them. The same commands from the same
// configuration give the same run, byte for byte.
//
// Messages are what the wallets really send: the outbox of every call, and,
// for what a wallet sends on its own (after a chain event, a tick or a
// restart), the Send effects it marks done in its store, which is exactly
// what it publishes as MessageQueued notifications.
//
// The world checks the wallet's safety properties as it goes, through
// wrappers around each wallet's store and signer, and on demand (Check):
//
//   - no key signs two different states for one channel and turn, and a
//     wallet signs only states whose signing it has committed first;
//   - every state a wallet stores carries its mover's signature, and every
//     signature it stores was made by that participant's wallet (forged
//     states are never accepted);
//   - wallets agree: the same channel and turn never map to two states;
//   - turns, statuses and everything else that only grows only move
//     forward, across crashes too;
//   - a postfund state is signed only once the chain holds the channel's
//     funding in blocks no reorg of the configured depth can remove, and a
//     wallet never believes in more holdings than the canonical chain has
//     received;
//   - funds are conserved per asset: what accounts spent = deposits =
//     holdings + payouts, and the escrow equals the holdings;
//   - honest messages are only ever rejected as stale, early or unknown;
//   - Step is deterministic: each input the world gives a wallet is also
//     stepped twice on copies of the wallet's channel, with equal results.
//
// Byzantine actors (hostile.go) add a stranger, a key no wallet holds, that
// proposes channels on another chain or at an asset holder the chain does
// not know and floods wallets with GetChannel requests, and hostile peers
// that sign two states for one turn or, on their turn, a state the
// channel's app refuses (invalid.go); the world also gives wallets messages
// addressed to others and calls them after Close. Their properties: a
// rejected input changes nothing durable (the store is snapshot before and
// after), no honest wallet deposits into a channel that can never pay out,
// a channel's states go only to its participants, a misaddressed message is
// refused, a second state for a held turn is refused as conflicting, an
// app-invalid state is refused as an invalid transition, and every call
// after Close returns app.ErrClosed.
//
// Disputes (dispute.go): a wallet challenges through its API, a
// participant registers behind its wallet's back a challenge with any
// support proof its wallet once held, and the chain's clock jumps past a
// running challenge once every wallet had its chance to answer. Their
// properties: no challenge finalizes on a turn older than a participant's
// supported state (a stale challenge is always cleared), and a channel
// closed by a finalized challenge pays the challenged state's outcome
// exactly and holds nothing; Stabilize moves the chain's time past the
// challenges still running, so no channel's funds stay locked.
//
// Offline wallets (offline.go): GoOffline stops a participant's wallet,
// which then gets no messages (they stay queued), chain events or ticks
// and makes no calls; ComeBack restarts it on its store, gives it its
// events and has it sync its channels. An offline wallet may lose a stale
// challenge (no watcher is modelled): the dispute property holds for the
// online participants, and Stabilize brings every wallet back first.
//
// Channels may run SingleAssetPayments (ChannelSpec.App, apps.go): every
// wallet registers it, and the world steps their inputs with the same rule
// the wallets apply.
//
// Stabilize then checks liveness: once faults stop and everything is
// delivered, synced, mined and ticked, every channel is agreed, and every
// closed channel is concluded and paid out exactly.
package sim
