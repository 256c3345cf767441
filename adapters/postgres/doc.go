// Package postgres is a ports.Store on PostgreSQL (14 or later) with a
// transactional outbox, written with sqlx and lib/pq.
//
// Durability. Commit writes a Step's channel and the effects it asked for
// in one transaction and returns only after it committed, with
// synchronous_commit=on: the app carries out no effect before its cause is
// durable (etcd raft's "persist before send"). Effects stay in the outbox
// until Done deletes them; after a restart app.New drives every pending one
// again. Done and SetChainCursor alone do not wait for the WAL flush:
// losing them in a server crash only repeats idempotent work.
//
// Concurrency. A Store holds a session advisory lock on its schema for its
// whole life, so a second wallet process on the same schema gets ErrLocked
// from Open. The lock's connection is checked every Options.LockCheck and
// the lock taken again after its session died (a killed backend, a server
// restart); should another process open the schema in between, an owner
// token checked under a share lock in every commit refuses the first
// process's writes, and the first stops writing (ErrLocked) and logs it. Channel rows are upserted in id order,
// which row-locks them, so concurrent transactions on one channel serialize
// and never deadlock. The app already serializes calls per channel.
//
// Group commit. Commit encodes in the caller's goroutine and queues;
// Options.Committers goroutines each take every queued write (up to
// Options.MaxBatch) and commit them with a single prepared statement,
// which PostgreSQL runs as a transaction of its own (one round trip, no
// BEGIN or COMMIT), so the cost of a WAL flush is shared by every Step
// that waited for it. Done rides along (SetChainCursor is a statement of
// its own: cursor.go). The rows travel
// as arrays in PostgreSQL's binary format, one per column.
//
// Faults. Every call returns by its context's deadline, a commit whose
// statement is already under way included (its outcome is then unknown:
// ports.ErrOutcomeUnknown, see deadline.go). Driver errors are typed with
// ports.ErrStoreTimeout and ports.ErrStoreUnavailable, the driver's error
// wrapped (faults.go).
//
// Schema. One schema per wallet (Options.Schema), migrated on Open with
// goose from SQL files embedded in the binary: see migrations/. The
// channels table keeps queryable columns (status, funding status, turn)
// and the whole core.Channel in a compact binary encoding (codec.go: about
// 1.3 kB for a running two-party channel, against 6 kB of JSON); states
// and signatures keep every signed state and signature ever held, each
// written once (Signatures lists them), so "no key signed two different
// states for one channel and turn" can be audited. The one deletion is
// DeleteProposal's: a proposal the wallet never joined (expired) goes with
// its row, states, signatures and outbox entries; a channel the wallet
// joined is never deleted. No private key is ever stored.
package postgres
