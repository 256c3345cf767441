// Package watchtower is a keyless watcher for Nitro 0.17.0 channels
// (issue 13, item 5). Wallets hand it, per channel, the support proof of
// their latest supported state (ports.WatchProof, through the
// ports.Watchtower port: in process with Local, over HTTP with Client and
// Handler). The Watcher keeps the newest proof of each channel in its Store,
// follows the chain's events from a stored cursor, and when a
// ChallengeRegistered names a turn older than the proof it holds, it
// submits checkpoint with that proof from its own account: checkpoint
// needs no participant's key, only gas.
//
// The watcher never acts on a channel it holds no newer proof for. A
// challenge on a channel it holds a proof for is stored as an Alarm before
// the cursor moves past its event (one on a channel without a proof yet
// is remembered in memory and becomes an alarm if a proof comes in), and every alarm is checked against the adjudicator's
// record (ports.Disputes.Record) until the challenge's finalizesAt has
// passed (decide.go): so a checkpoint lost to an RPC failure, a reorg or a
// restart is submitted again.
//
// The HTTP format is in docs/watchtower.md; `nitrowallet watch` runs a
// watcher on PostgreSQL (adapters/postgres.WatchStore).
package watchtower
