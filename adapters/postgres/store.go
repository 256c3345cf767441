package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"math"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/pressly/goose/v3"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Errors returned by the store; test them with errors.Is.
var (
	// ErrLocked: another wallet process (or another Store value) holds this
	// store's schema, or took it over after this one lost its lock.
	ErrLocked = errors.New("postgres store: the schema is in use by another wallet process")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("postgres store: closed")
)

// DefaultSchema is the PostgreSQL schema a store uses when Options.Schema is empty.
const DefaultSchema = "nitrowallet"

//go:embed migrations/*.sql
var migrations embed.FS

// Options configure Open. The zero value is usable.
type Options struct {
	// Schema is the PostgreSQL schema holding this wallet's tables (created
	// if missing): one wallet per schema. Lower-case letters, digits and
	// underscores. Default DefaultSchema.
	Schema string
	// LockWait is how long Open keeps trying when another session holds
	// the schema's lock (e.g. the backend of a killed process that has not
	// noticed yet) before returning ErrLocked. Zero tries once.
	LockWait time.Duration
	// LockCheck is how often the store checks that it still holds the
	// schema's lock, taking it again after a lost session (default
	// DefaultLockCheck); see lockwatch.go.
	LockCheck time.Duration
	// MaxConns bounds the pooled connections (default 8), plus one held
	// for the lock.
	MaxConns int
	// Committers is how many group-commit transactions may run at once
	// (default 2): while one waits for its WAL flush the next gathers.
	Committers int
	// MaxBatch bounds how many waiting writes share one transaction (default 256).
	MaxBatch int
	// BatchWindow is how long a committer waits for more writes after the
	// first one before committing. Zero (the default) never waits: a batch
	// is whatever queued while the previous transaction was committing,
	// which adds no latency when idle.
	BatchWindow time.Duration
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Reset empties the schema (drops it and everything in it) after
	// taking its lock, before migrating: for demos and tests whose chain is
	// new on every run, so an earlier run's channels and chain cursor would
	// be wrong. Never set it for a real wallet.
	Reset bool
	// FaultHook, if set, is called at "tx-sending" (before a batch's
	// statement is sent) and "tx-committed" (after it committed, before
	// its callers are answered) for every commit batch: crash tests kill
	// the process there. Leave it nil in production.
	FaultHook func(point string)
}

func (o Options) withDefaults() Options {
	if o.Schema == "" {
		o.Schema = DefaultSchema
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 8
	}
	if o.Committers <= 0 {
		o.Committers = 2
	}
	if o.Committers > o.MaxConns {
		o.Committers = o.MaxConns
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Store is a ports.Store on PostgreSQL: channels, every signed state and
// signature, the outbox of pending effects, the chain cursor and channel
// nonces, in one schema. Commit is one durable transaction (synchronous
// commit) and concurrent Commits share transactions (group commit). One
// Store holds a session advisory lock on its schema for its whole life, so a
// second wallet process pointed at the same schema gets ErrLocked from Open.
// Safe for concurrent use.
type Store struct {
	db     *sqlx.DB
	opt    Options
	schema string
	token  string
	lock   *sql.Conn
	log    *slog.Logger

	commitStmt *sql.Stmt
	queue      chan *request
	ctx        context.Context // ends when the store is closed
	stop       context.CancelFunc
	wg         sync.WaitGroup
	once       sync.Once

	closeMu sync.RWMutex // held to read closed and send on queue
	closed  bool

	inflight abandoned // writes whose callers gave up (deadline.go)
	guard    lockGuard // keeps the advisory lock (lockwatch.go)

	mu       sync.Mutex
	recorded map[nitro.Bytes32]*evidence // evidence known to be in the tables
	stats    Stats

	batchObs atomic.Pointer[func(ports.CommitBatch)] // see ObserveBatches
}

var _ ports.BatchObserver = (*Store)(nil)

var _ ports.Store = (*Store)(nil)

// Open connects to PostgreSQL (a postgres:// URL or key=value DSN, as
// lib/pq reads them), takes the schema's lock, creates the schema if needed,
// applies the embedded migrations and starts the committers. The store's
// sessions run with synchronous_commit=on unless the URL sets it.
func Open(ctx context.Context, url string, opt Options) (*Store, error) {
	opt = opt.withDefaults()
	if !schemaName.MatchString(opt.Schema) {
		return nil, fmt.Errorf("postgres store: schema name %q: want [a-z_][a-z0-9_]*, at most 63 characters", opt.Schema)
	}
	cfg, err := pq.NewConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres store: %w", err)
	}
	if cfg.Runtime == nil {
		cfg.Runtime = map[string]string{}
	}
	cfg.Runtime["search_path"] = opt.Schema
	// []byte parameters go in binary: commits send their rows as binary
	// arrays (see pgArray).
	cfg.BinaryParameters = true
	if _, ok := cfg.Runtime["synchronous_commit"]; !ok {
		cfg.Runtime["synchronous_commit"] = "on"
	}
	conn, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres store: %w", err)
	}
	db := sqlx.NewDb(sql.OpenDB(conn), "postgres")
	db.SetMaxOpenConns(opt.MaxConns + 1)
	db.SetMaxIdleConns(opt.MaxConns + 1)
	s := &Store{db: db, opt: opt, schema: opt.Schema, log: opt.Logger, recorded: map[nitro.Bytes32]*evidence{}}
	if err := s.open(ctx); err != nil {
		if s.lock != nil {
			_ = s.lock.Close()
		}
		_ = db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) open(ctx context.Context) error {
	lock, err := s.db.Conn(ctx)
	if err != nil {
		return callError(ctx, "connect", err)
	}
	s.lock = lock
	if err := s.takeLock(ctx); err != nil {
		return err
	}
	if s.opt.Reset {
		if _, err := lock.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+pq.QuoteIdentifier(s.schema)+" CASCADE"); err != nil {
			return fmt.Errorf("postgres store: reset schema %s: %w", s.schema, err)
		}
	}
	if _, err := lock.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+pq.QuoteIdentifier(s.schema)); err != nil {
		return fmt.Errorf("postgres store: create schema %s: %w", s.schema, err)
	}
	if err := migrate(ctx, s.db.DB); err != nil {
		return err
	}
	var tok [16]byte
	_, _ = rand.Read(tok[:])
	s.token = hex.EncodeToString(tok[:])
	// Fence: any process that still writes with an older token is refused.
	if _, err := lock.ExecContext(ctx, `INSERT INTO wallet (id, owner, opened_at) VALUES (1, $1, now())
		ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, opened_at = EXCLUDED.opened_at`, s.token); err != nil {
		return fmt.Errorf("postgres store: claim schema: %w", err)
	}
	if s.commitStmt, err = s.db.PrepareContext(ctx, commitSQL); err != nil {
		return fmt.Errorf("postgres store: prepare: %w", err)
	}
	s.ctx, s.stop = context.WithCancel(context.Background())
	s.queue = make(chan *request, 4*s.opt.MaxBatch)
	for range s.opt.Committers {
		s.wg.Add(1)
		go s.committer()
	}
	s.startGuard(ctx)
	return nil
}

// lockKey is the advisory lock key of a schema (locks are per database).
func lockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("nitrowallet/postgres-store/" + schema))
	return int64(h.Sum64())
}

func (s *Store) takeLock(ctx context.Context) error {
	deadline := time.Now().Add(s.opt.LockWait)
	for {
		var ok bool
		if err := s.lock.QueryRowContext(ctx, "SELECT pg_try_advisory_lock($1)", lockKey(s.schema)).Scan(&ok); err != nil {
			return callError(ctx, "lock", err)
		}
		if ok {
			return nil
		}
		if !time.Now().Before(deadline) {
			return fmt.Errorf("%w (schema %s)", ErrLocked, s.schema)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// migrate applies the embedded migrations with goose.
func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("postgres store: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("postgres store: migrate: %w", err)
	}
	return nil
}

// Close stops the committers after the writes already queued, releases the
// lock and closes the connections.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closeMu.Lock()
		s.closed = true
		close(s.queue)
		s.closeMu.Unlock()
		s.wg.Wait()
		s.stopGuard()
		s.stop()
		_ = s.commitStmt.Close()
		_, _ = s.lock.ExecContext(context.Background(), "SELECT pg_advisory_unlock($1)", lockKey(s.schema))
		_ = s.lock.Close()
		_ = s.db.Close()
	})
	return nil
}

// Schema is the PostgreSQL schema the store uses.
func (s *Store) Schema() string { return s.schema }

// DB is the store's connection pool, for read-only inspection (audits,
// tests). Writing through it bypasses the store's guarantees.
func (s *Store) DB() *sqlx.DB { return s.db }

// Get returns a channel, or ports.ErrNotFound.
func (s *Store) Get(ctx context.Context, id nitro.Bytes32) (core.Channel, error) {
	if err := s.settle(ctx, &id); err != nil {
		return core.Channel{}, err
	}
	var data []byte
	err := s.db.QueryRowContext(ctx, "SELECT data FROM channels WHERE id = $1", id[:]).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return core.Channel{}, ports.ErrNotFound
	}
	if err != nil {
		return core.Channel{}, callError(ctx, "get channel", err)
	}
	return decodeChannel(data)
}

// Missing returns those of ids the store does not hold, in order
// (ports.ChannelFinder), in one query; like Get, it first waits for
// abandoned writes of those channels to end.
func (s *Store) Missing(ctx context.Context, ids []nitro.Bytes32) ([]nitro.Bytes32, error) {
	for i := range ids {
		if err := s.settle(ctx, &ids[i]); err != nil {
			return nil, err
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make(pq.ByteaArray, len(ids))
	for i := range ids {
		keys[i] = ids[i][:]
	}
	var found [][]byte
	if err := s.db.SelectContext(ctx, &found, "SELECT id FROM channels WHERE id = ANY($1::bytea[])", keys); err != nil {
		return nil, callError(ctx, "find channels", err)
	}
	held := make(map[nitro.Bytes32]bool, len(found))
	for _, f := range found {
		if len(f) == len(nitro.Bytes32{}) {
			held[nitro.Bytes32(f)] = true
		}
	}
	var out []nitro.Bytes32
	for _, id := range ids {
		if !held[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

// List returns every channel, ordered by id.
func (s *Store) List(ctx context.Context) ([]core.Channel, error) {
	if err := s.settle(ctx, nil); err != nil {
		return nil, err
	}
	var rows [][]byte
	if err := s.db.SelectContext(ctx, &rows, "SELECT data FROM channels ORDER BY id"); err != nil {
		return nil, callError(ctx, "list channels", err)
	}
	out := make([]core.Channel, 0, len(rows))
	for _, data := range rows {
		c, err := decodeChannel(data)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Pending returns the outbox entries not yet done, in commit order.
func (s *Store) Pending(ctx context.Context) ([]ports.OutboxEntry, error) {
	var rows []struct {
		ID        int64  `db:"id"`
		ChannelID []byte `db:"channel_id"`
		Kind      string `db:"kind"`
		Effect    []byte `db:"effect"`
	}
	if err := s.settle(ctx, nil); err != nil {
		return nil, err
	}
	if err := s.db.SelectContext(ctx, &rows, "SELECT id, channel_id, kind, effect FROM outbox ORDER BY id"); err != nil {
		return nil, callError(ctx, "read outbox", err)
	}
	out := make([]ports.OutboxEntry, 0, len(rows))
	for _, r := range rows {
		e, err := decodeEffect(r.Kind, r.Effect)
		if err != nil {
			return nil, fmt.Errorf("outbox entry %d: %w", r.ID, err)
		}
		out = append(out, ports.OutboxEntry{ID: uint64(r.ID), ChannelID: bytes32(r.ChannelID), Effect: e})
	}
	return out, nil
}

// Done marks outbox entries as carried out (it deletes them); unknown or
// already done ids are ignored. It shares a transaction with concurrent
// commits; alone (or with other Done calls only) it
// does not wait for the WAL flush, since losing it in a server crash only
// drives an idempotent effect again. It is visible to every reader when it returns.
func (s *Store) Done(ctx context.Context, ids []uint64) error {
	if len(ids) == 0 {
		return nil
	}
	req := &request{ctx: ctx, cursor: -1}
	for _, id := range ids {
		if id <= math.MaxInt64 {
			req.done = append(req.done, int64(id))
		}
	}
	_, err := s.submit(ctx, req)
	return err
}

// NextNonce reserves a fresh channel nonce for a participant list: 1, 2,
// 3, ... per ordered list, durable before it is returned.
func (s *Store) NextNonce(ctx context.Context, participants []nitro.Address) (uint64, error) {
	key := make([]byte, 0, 20*len(participants))
	for _, p := range participants {
		key = append(key, p[:]...)
	}
	var n int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO channel_nonces (participants, last_nonce) VALUES ($1, 1)
		ON CONFLICT (participants) DO UPDATE SET last_nonce = channel_nonces.last_nonce + 1
		RETURNING last_nonce`, key).Scan(&n)
	if err != nil {
		return 0, callError(ctx, "next nonce", err)
	}
	return uint64(n), nil
}

// NextNonces reserves n consecutive nonces for a participant list in one
// statement and returns the last (ports.NonceRanger).
func (s *Store) NextNonces(ctx context.Context, participants []nitro.Address, n int) (uint64, error) {
	if n < 1 {
		return 0, fmt.Errorf("postgres: NextNonces of %d", n)
	}
	key := make([]byte, 0, 20*len(participants))
	for _, p := range participants {
		key = append(key, p[:]...)
	}
	var last int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO channel_nonces (participants, last_nonce) VALUES ($1, $2)
		ON CONFLICT (participants) DO UPDATE SET last_nonce = channel_nonces.last_nonce + $2
		RETURNING last_nonce`, key, int64(n)).Scan(&last)
	if err != nil {
		return 0, callError(ctx, "next nonces", err)
	}
	return uint64(last), nil
}

// Commit saves the channels and appends their effects to the outbox in one
// transaction, durable when it returns, and returns the entries in order.
// Concurrent Commits (and Done calls) share
// transactions. It returns by ctx's deadline; if it returns an error
// without ports.ErrOutcomeUnknown, nothing was written (see ports.Store).
func (s *Store) Commit(ctx context.Context, changes []ports.Change) ([]ports.OutboxEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, callError(ctx, "commit", err)
	}
	if len(changes) == 0 {
		return nil, nil
	}
	req, err := s.prepare(ctx, changes)
	if err != nil {
		return nil, err
	}
	ids, err := s.submit(ctx, req)
	if err != nil {
		return nil, err
	}
	entries := make([]ports.OutboxEntry, 0, len(ids))
	k := 0
	for _, ch := range changes {
		for _, e := range ch.Effects {
			entries = append(entries, ports.OutboxEntry{ID: ids[k], ChannelID: ch.Channel.ID, Effect: e})
			k++
		}
	}
	return entries, nil
}

// Stats counts the store's commit transactions and the writes they carried.
type Stats struct {
	Transactions uint64 // commit transactions that succeeded
	Requests     uint64 // Commit and Done calls they carried
	Changes      uint64 // channel changes they carried
	Retries      uint64 // transactions run again after a deadlock or serialization failure
}

// Stats returns the commit counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Signature is one signature the store recorded.
type Signature struct {
	ChannelID nitro.Bytes32
	TurnNum   uint64
	Signer    nitro.Address
	StateHash nitro.Bytes32
	Signature nitro.Signature
}

// Signatures returns every signature the wallet ever made or received, by
// channel, turn, signer and state hash: the audit trail behind the rule that
// no key signs two different states for one channel and turn. They are
// the signature rows and the signatures kept in their state's row
// (foldSignatures), each once (UNION drops one held both ways).
func (s *Store) Signatures(ctx context.Context) ([]Signature, error) {
	var rows []struct {
		ChannelID []byte `db:"channel_id"`
		Turn      int64  `db:"turn_num"`
		Signer    []byte `db:"signer"`
		Hash      []byte `db:"state_hash"`
		Sig       []byte `db:"signature"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT channel_id, turn_num, signer, state_hash, signature FROM signatures
		UNION
		SELECT s.channel_id, s.turn_num, substring(s.signatures FROM k * 85 + 1 FOR 20), s.state_hash,
		       substring(s.signatures FROM k * 85 + 21 FOR 65)
		  FROM states s, generate_series(0, length(s.signatures) / 85 - 1) AS k
		ORDER BY channel_id, turn_num, signer, state_hash`); err != nil {
		return nil, callError(ctx, "read signatures", err)
	}
	out := make([]Signature, len(rows))
	for i, r := range rows {
		sig, err := nitro.SignatureFromBytes(r.Sig)
		if err != nil {
			return nil, err
		}
		out[i] = Signature{ChannelID: bytes32(r.ChannelID), TurnNum: uint64(r.Turn), Signer: address(r.Signer), StateHash: bytes32(r.Hash), Signature: sig}
	}
	return out, nil
}

func bytes32(b []byte) (h nitro.Bytes32) {
	copy(h[:], b)
	return h
}

func address(b []byte) (a nitro.Address) {
	copy(a[:], b)
	return a
}
