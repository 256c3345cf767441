package postgres

// The write path. Commit encodes its changes in the caller's goroutine (the
// encoding runs in parallel across callers), then queues a request.
// Committer goroutines take every request queued (up to MaxBatch) and write
// them in one statement, which PostgreSQL runs as one transaction: the
// channel rows (upserted, which row-locks them, in id order so concurrent
// statements never deadlock), the new states and signatures, the outbox
// entries (in request order), the deletion of the outbox entries marked
// done and the chain cursor. Each request is answered only after the
// statement returned, i.e. after PostgreSQL committed and flushed the WAL
// (synchronous_commit=on): a caller never acts on a write that is not
// durable. (A batch of nothing but Done marks and a cursor move does not
// wait for the flush: losing it in a server crash only repeats idempotent
// work.) While one statement waits for its flush, the next batch gathers,
// so the number of WAL flushes grows with the number of batches, not of
// Steps.

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// request is one write waiting for a commit transaction.
type request struct {
	ctx      context.Context
	channels []channelRow
	states   []stateInsert
	sigs     []sigInsert
	effects  []effectRow
	done     []int64
	cursor   int64 // -1: no cursor update
	evidence []*evidence
	resp     chan result
	state    atomic.Int32  // reqQueued, reqTaken, ... (see deadline.go)
	resolved chan struct{} // closed once an abandoned request's statement ended
}

type result struct {
	ids []uint64
	err error
}

type channelRow struct {
	id      nitro.Bytes32
	status  core.Status
	funding core.FundingStatus
	turn    int64
	myIndex int32
	data    []byte
}

type stateInsert struct {
	channel nitro.Bytes32
	turn    int64
	hash    nitro.Bytes32
	final   bool
	state   []byte
}

type sigInsert struct {
	channel nitro.Bytes32
	turn    int64
	hash    nitro.Bytes32
	signer  nitro.Address
	sig     [65]byte
}

type effectRow struct {
	channel nitro.Bytes32
	kind    string
	data    []byte
}

// stateKey and sigKey identify rows of the states and signatures tables
// within a channel.
type stateKey struct {
	turn uint64
	hash nitro.Bytes32
}

type sigKey struct {
	turn   uint64
	hash   nitro.Bytes32
	signer nitro.Address
}

// heldSig is a held state's signature with the signer recovered from it.
type heldSig struct {
	hash   nitro.Bytes32
	sig    nitro.Signature
	signer nitro.Address
	ok     bool // recovered, and a participant of the state
}

// evidence is what the states and signatures tables are known to hold of
// a channel's current states (a channel holds a handful, so slices are
// searched). A value is never modified once recorded.
type evidence struct {
	id     nitro.Bytes32
	states []stateKey
	sigs   []sigKey
	held   []heldSig
}

func (ev *evidence) hasState(k stateKey) bool { return ev != nil && slices.Contains(ev.states, k) }
func (ev *evidence) hasSig(k sigKey) bool     { return ev != nil && slices.Contains(ev.sigs, k) }

// prepare encodes changes into a request. Evidence (states and signatures)
// already written for a channel is left out; the rest is inserted with ON
// CONFLICT DO NOTHING, so a stale cache only costs a few extra rows.
func (s *Store) prepare(ctx context.Context, changes []ports.Change) (*request, error) {
	req := &request{ctx: ctx, cursor: -1}
	for i := range changes {
		c := &changes[i].Channel
		if c.ID == (nitro.Bytes32{}) {
			return nil, fmt.Errorf("postgres store: commit of a channel without id")
		}
		turn := c.TurnNum()
		if turn > math.MaxInt64 {
			return nil, fmt.Errorf("postgres store: channel %s: turn %d out of range", c.ID, turn)
		}
		if int64(int32(c.MyIndex)) != int64(c.MyIndex) {
			return nil, fmt.Errorf("postgres store: channel %s: index %d out of range", c.ID, c.MyIndex)
		}
		row := channelRow{id: c.ID, status: c.Status(), funding: c.FundingStatus(), turn: int64(turn), myIndex: int32(c.MyIndex)}
		row.data = appendChannel(make([]byte, 0, s.sizeHint(c)), c)
		req.channels = append(req.channels, row)
		if err := s.prepareEvidence(req, c); err != nil {
			return nil, err
		}
		for _, e := range changes[i].Effects {
			kind, data, err := appendEffect(nil, e)
			if err != nil {
				return nil, err
			}
			req.effects = append(req.effects, effectRow{channel: c.ID, kind: kind, data: data})
		}
	}
	return req, nil
}

// sizeHint guesses the size of a channel's encoding.
func (s *Store) sizeHint(c *core.Channel) int {
	return 256 + 256*(len(c.States)+len(c.Held)) + 64*len(c.Participants)
}

// prepareEvidence adds to req the states and signatures of c that the
// tables may not hold yet.
func (s *Store) prepareEvidence(req *request, c *core.Channel) error {
	s.mu.Lock()
	known := s.recorded[c.ID]
	s.mu.Unlock()
	ev := &evidence{id: c.ID, states: make([]stateKey, 0, len(c.States)+len(c.Held))}
	ev.sigs = make([]sigKey, 0, cap(ev.states)*max(len(c.Participants), 1))
	addState := func(st *nitro.State, k stateKey) error {
		if ev.hasState(k) {
			return nil
		}
		ev.states = append(ev.states, k)
		if known.hasState(k) {
			return nil
		}
		if k.turn > math.MaxInt64 {
			return fmt.Errorf("postgres store: channel %s: turn %d out of range", c.ID, k.turn)
		}
		req.states = append(req.states, stateInsert{channel: c.ID, turn: int64(k.turn), hash: k.hash, final: st.IsFinal, state: appendState(nil, st)})
		return nil
	}
	addSig := func(k sigKey, sig nitro.Signature) {
		if ev.hasSig(k) {
			return
		}
		ev.sigs = append(ev.sigs, k)
		if known.hasSig(k) {
			return
		}
		row := sigInsert{channel: c.ID, turn: int64(k.turn), hash: k.hash, signer: k.signer}
		copy(row.sig[:], sig.Bytes())
		req.sigs = append(req.sigs, row)
	}
	for i := range c.States {
		st := &c.States[i]
		k := stateKey{st.State.TurnNum, st.Hash}
		signed := false
		for j, sig := range st.Sigs {
			if sig.V == 0 || j >= len(c.Participants) {
				continue
			}
			if !signed {
				signed = true
				if err := addState(&st.State, k); err != nil {
					return err
				}
			}
			addSig(sigKey{k.turn, k.hash, c.Participants[j].SigningAddress}, sig)
		}
	}
	for i := range c.Held {
		h := &c.Held[i]
		if len(h.Signatures) == 0 {
			continue
		}
		hash, err := h.State.Hash()
		if err != nil {
			continue
		}
		k := stateKey{h.State.TurnNum, hash}
		for _, sig := range h.Signatures {
			hs := recoverHeld(known, hash, sig, h.State.Participants)
			ev.held = append(ev.held, hs)
			if !hs.ok {
				continue
			}
			if err := addState(&h.State, k); err != nil {
				return err
			}
			addSig(sigKey{k.turn, k.hash, hs.signer}, sig)
		}
	}
	req.evidence = append(req.evidence, ev)
	return nil
}

// recoverHeld recovers the signer of a held state's signature, or finds it
// in what an earlier commit recovered.
func recoverHeld(known *evidence, hash nitro.Bytes32, sig nitro.Signature, parts []nitro.Address) heldSig {
	if known != nil {
		for _, h := range known.held {
			if h.hash == hash && h.sig == sig {
				return h
			}
		}
	}
	hs := heldSig{hash: hash, sig: sig}
	who, err := nitro.RecoverSigner(hash, sig)
	if err == nil && slices.Contains(parts, who) {
		hs.signer, hs.ok = who, true
	}
	return hs
}

// committer gathers queued requests into batches and commits them.
func (s *Store) committer() {
	defer s.wg.Done()
	for {
		first, ok := <-s.queue
		if !ok {
			return
		}
		batch := []*request{first}
		var timeout <-chan time.Time
		if s.opt.BatchWindow > 0 {
			timeout = time.After(s.opt.BatchWindow)
		}
	gather:
		for len(batch) < s.opt.MaxBatch {
			if timeout == nil {
				select {
				case r, ok := <-s.queue:
					if !ok {
						break gather
					}
					batch = append(batch, r)
				default:
					break gather
				}
				continue
			}
			select {
			case r, ok := <-s.queue:
				if !ok {
					break gather
				}
				batch = append(batch, r)
			case <-timeout:
				break gather
			}
		}
		s.run(batch)
	}
}

// isStatementError reports errors PostgreSQL raised for a statement's data
// (classes 22 and 23): the transaction surely rolled back.
func isStatementError(err error) bool {
	var pe *pq.Error
	if !errors.As(err, &pe) {
		return false
	}
	c := pe.Code.Class()
	return c == pqerror.ClassDataException || c == pqerror.ClassIntegrityConstraintViolation
}

func isRetryable(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && pe.Code.Class() == pqerror.ClassTransactionRollback
}

func (s *Store) commitRetrying(batch []*request) ([][]uint64, error) {
	for attempt := 0; ; attempt++ {
		ids, err := s.commitBatch(batch)
		if err == nil || !isRetryable(err) || attempt == 4 {
			return ids, err
		}
		s.mu.Lock()
		s.stats.Retries++
		s.mu.Unlock()
	}
}

// commitBatch writes a batch in one statement, which PostgreSQL runs as
// one transaction, and returns each request's outbox ids.
func (s *Store) commitBatch(batch []*request) (_ [][]uint64, err error) {
	ctx, cancel := s.statementContext(batch)
	defer cancel()
	var (
		chans   []channelRow
		states  []stateInsert
		sigs    []sigInsert
		effects []effectRow
		done    []int64
		cursor  int64 = -1
		changes uint64
		chBytes int
		stBytes int
		obBytes int
	)
	for _, r := range batch {
		chans = append(chans, r.channels...)
		states = append(states, r.states...)
		sigs = append(sigs, r.sigs...)
		effects = append(effects, r.effects...)
		done = append(done, r.done...)
		cursor = max(cursor, r.cursor)
		changes += uint64(len(r.channels))
	}
	// Channel rows in id order (so that concurrent statements lock them in
	// the same order and never deadlock), the last write of each.
	slices.SortStableFunc(chans, func(x, y channelRow) int { return bytes.Compare(x.id[:], y.id[:]) })
	chans = lastOfEach(chans, func(x, y *channelRow) bool { return x.id == y.id })
	slices.SortFunc(states, func(x, y stateInsert) int {
		if c := bytes.Compare(x.channel[:], y.channel[:]); c != 0 {
			return c
		}
		if c := cmp.Compare(x.turn, y.turn); c != 0 {
			return c
		}
		return bytes.Compare(x.hash[:], y.hash[:])
	})
	states = slices.CompactFunc(states, func(x, y stateInsert) bool {
		return x.channel == y.channel && x.turn == y.turn && x.hash == y.hash
	})
	slices.SortFunc(sigs, func(x, y sigInsert) int {
		if c := bytes.Compare(x.channel[:], y.channel[:]); c != 0 {
			return c
		}
		if c := cmp.Compare(x.turn, y.turn); c != 0 {
			return c
		}
		if c := bytes.Compare(x.signer[:], y.signer[:]); c != 0 {
			return c
		}
		return bytes.Compare(x.hash[:], y.hash[:])
	})
	sigs = slices.CompactFunc(sigs, func(x, y sigInsert) bool {
		return x.channel == y.channel && x.turn == y.turn && x.signer == y.signer && x.hash == y.hash
	})
	slices.Sort(done)
	done = slices.Compact(done)
	for i := range chans {
		chBytes += len(chans[i].data)
	}
	for i := range states {
		stBytes += len(states[i].state)
	}
	for i := range effects {
		obBytes += len(effects[i].data)
	}

	// The parameters' buffers are reused from batch to batch (lib/pq
	// copies them into its own before the statement returns).
	arrays := arrayPool.Get().(*commitArrays)
	defer arrayPool.Put(arrays)
	var (
		chID, chStatus, chFunding, chTurn, chIndex, chData = &arrays[0], &arrays[1], &arrays[2], &arrays[3], &arrays[4], &arrays[5]
		stChannel, stTurn, stHash, stFinal, stData         = &arrays[6], &arrays[7], &arrays[8], &arrays[9], &arrays[10]
		sgChannel, sgTurn, sgSigner, sgHash, sgSig         = &arrays[11], &arrays[12], &arrays[13], &arrays[14], &arrays[15]
		obChannel, obKind, obData                          = &arrays[16], &arrays[17], &arrays[18]
		dn                                                 = &arrays[19]
	)
	n := len(chans)
	chID.start(oidBytea, n*36)
	chStatus.start(oidText, n*12)
	chFunding.start(oidText, n*18)
	chTurn.start(oidInt8, n*12)
	chIndex.start(oidInt4, n*8)
	chData.start(oidBytea, 4*n+chBytes)
	for i := range chans {
		c := &chans[i]
		chID.elem(c.id[:])
		chStatus.str(string(c.status))
		chFunding.str(string(c.funding))
		chTurn.int8(c.turn)
		chIndex.int4(c.myIndex)
		chData.elem(c.data)
	}
	n = len(states)
	stChannel.start(oidBytea, n*36)
	stTurn.start(oidInt8, n*12)
	stHash.start(oidBytea, n*36)
	stFinal.start(oidBool, n*5)
	stData.start(oidBytea, 4*n+stBytes)
	for i := range states {
		st := &states[i]
		stChannel.elem(st.channel[:])
		stTurn.int8(st.turn)
		stHash.elem(st.hash[:])
		stFinal.bool(st.final)
		stData.elem(st.state)
	}
	n = len(sigs)
	sgChannel.start(oidBytea, n*36)
	sgTurn.start(oidInt8, n*12)
	sgSigner.start(oidBytea, n*24)
	sgHash.start(oidBytea, n*36)
	sgSig.start(oidBytea, n*69)
	for i := range sigs {
		sg := &sigs[i]
		sgChannel.elem(sg.channel[:])
		sgTurn.int8(sg.turn)
		sgSigner.elem(sg.signer[:])
		sgHash.elem(sg.hash[:])
		sgSig.elem(sg.sig[:])
	}
	n = len(effects)
	obChannel.start(oidBytea, n*36)
	obKind.start(oidText, n*13)
	obData.start(oidBytea, 4*n+obBytes)
	for i := range effects {
		e := &effects[i]
		obChannel.elem(e.channel[:])
		obKind.str(e.kind)
		obData.elem(e.data)
	}
	dn.start(oidInt8, len(done)*12)
	for _, id := range done {
		dn.int8(id)
	}

	var (
		owner string
		got   pq.Int64Array
		async sql.NullString
	)
	s.hook("tx-sending")
	if err := s.commitStmt.QueryRowContext(ctx, s.token,
		chID.bytes(), chStatus.bytes(), chFunding.bytes(), chTurn.bytes(), chIndex.bytes(), chData.bytes(),
		stChannel.bytes(), stTurn.bytes(), stHash.bytes(), stFinal.bytes(), stData.bytes(),
		sgChannel.bytes(), sgTurn.bytes(), sgSigner.bytes(), sgHash.bytes(), sgSig.bytes(),
		obChannel.bytes(), obKind.bytes(), obData.bytes(),
		dn.bytes(), cursor, len(chans) == 0 && len(effects) == 0,
	).Scan(&owner, &got, &async); err != nil {
		return nil, writeError(err)
	}
	if owner != s.token {
		// The statement wrote nothing: every part of it checks the owner.
		return nil, fmt.Errorf("%w: another process opened schema %s after this one", ErrLocked, s.schema)
	}
	if len(got) != len(effects) {
		return nil, fmt.Errorf("postgres store: outbox returned %d ids for %d effects", len(got), len(effects))
	}
	s.hook("tx-committed")
	// Ids come from the sequence in insertion order, which is the
	// ordinality order, and are returned sorted: they are in request order.
	outIDs := make([]uint64, len(got))
	for i, id := range got {
		outIDs[i] = uint64(id)
	}
	// Split the ids by request, and remember the evidence now written.
	out := make([][]uint64, len(batch))
	k := 0
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range batch {
		out[i] = outIDs[k : k+len(r.effects) : k+len(r.effects)]
		k += len(r.effects)
		for _, ev := range r.evidence {
			s.recorded[ev.id] = ev
		}
	}
	s.stats.Transactions++
	s.stats.Requests += uint64(len(batch))
	s.stats.Changes += changes
	return out, nil
}

// lastOfEach keeps, of each run of equal neighbours in a sorted slice, the
// last one.
func lastOfEach[T any](xs []T, eq func(x, y *T) bool) []T {
	out := xs[:0]
	for i := range xs {
		if i+1 < len(xs) && eq(&xs[i], &xs[i+1]) {
			continue
		}
		out = append(out, xs[i])
	}
	return out
}

func (s *Store) hook(point string) {
	if s.opt.FaultHook != nil {
		s.opt.FaultHook(point)
	}
}

// PostgreSQL type oids of array elements.
const (
	oidBool  = 16
	oidBytea = 17
	oidInt8  = 20
	oidInt4  = 23
	oidText  = 25
)

// commitArrays are the array parameters of commitSQL.
type commitArrays [20]pgArray

var arrayPool = sync.Pool{New: func() any { return new(commitArrays) }}

// pgArray builds a one-dimensional array in PostgreSQL's binary format (as
// array_recv reads it). The store's connections send []byte parameters in
// binary (lib/pq's binary_parameters), so arrays of encoded rows reach
// PostgreSQL without the text format's quoting and hex escaping, and
// PostgreSQL copies their elements as they are.
type pgArray struct {
	b []byte
	n uint32
}

const pgArrayHeader = 20 // ndim, flags, element oid, length, lower bound

// start empties the array, keeping its buffer if it has room for size
// bytes of elements.
func (a *pgArray) start(oid uint32, size int) {
	if cap(a.b) < pgArrayHeader+size || cap(a.b) > 4*(pgArrayHeader+size)+1<<16 {
		a.b = make([]byte, pgArrayHeader, pgArrayHeader+size)
	}
	a.b = a.b[:pgArrayHeader]
	clear(a.b)
	binary.BigEndian.PutUint32(a.b[8:], oid)
	a.n = 0
}

func (a *pgArray) elem(p []byte) {
	a.b = binary.BigEndian.AppendUint32(a.b, uint32(len(p)))
	a.b = append(a.b, p...)
	a.n++
}

func (a *pgArray) str(s string) {
	a.b = binary.BigEndian.AppendUint32(a.b, uint32(len(s)))
	a.b = append(a.b, s...)
	a.n++
}

func (a *pgArray) int8(v int64) {
	a.b = binary.BigEndian.AppendUint32(a.b, 8)
	a.b = binary.BigEndian.AppendUint64(a.b, uint64(v))
	a.n++
}

func (a *pgArray) int4(v int32) {
	a.b = binary.BigEndian.AppendUint32(a.b, 4)
	a.b = binary.BigEndian.AppendUint32(a.b, uint32(v))
	a.n++
}

func (a *pgArray) bool(v bool) {
	a.b = binary.BigEndian.AppendUint32(a.b, 1)
	if v {
		a.b = append(a.b, 1)
	} else {
		a.b = append(a.b, 0)
	}
	a.n++
}

// bytes returns the array; an empty one has no dimension.
func (a *pgArray) bytes() []byte {
	if a.n == 0 {
		return a.b[:12]
	}
	binary.BigEndian.PutUint32(a.b[0:], 1)
	binary.BigEndian.PutUint32(a.b[12:], a.n)
	binary.BigEndian.PutUint32(a.b[16:], 1)
	return a.b
}

// commitSQL writes a whole batch in one statement: one round trip,
// prepared once per connection, and one transaction of its own (no BEGIN
// and COMMIT round trips). $1 is this store's owner token: the statement
// reads the owner under a share lock, so that a process that lost its lock
// cannot commit after another one took the schema over, and every part of
// it writes only if the token matches (the caller then sees the other
// owner and reports ErrLocked). Rows come as arrays, one per column, which
// unnest turns back into rows. Done marks delete their outbox entries. A
// batch of only Done marks and a cursor move ($23) commits without waiting
// for the WAL flush: losing it in a server crash only repeats idempotent
// work (an effect driven again, events read again), while every channel
// change and new effect is durable before Commit returns. It returns the
// owner and the new outbox ids in order.
const commitSQL = `WITH
owner AS (SELECT owner FROM wallet WHERE id = 1 FOR SHARE),
ok AS (SELECT FROM owner WHERE owner = $1),
ch AS (
	INSERT INTO channels AS c (id, status, funding_status, turn_num, my_index, data)
	SELECT * FROM unnest($2::bytea[], $3::text[], $4::text[], $5::bigint[], $6::int[], $7::bytea[])
	 WHERE EXISTS (SELECT FROM ok)
	ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, funding_status = EXCLUDED.funding_status,
		turn_num = EXCLUDED.turn_num, my_index = EXCLUDED.my_index, data = EXCLUDED.data,
		version = c.version + 1, updated_at = now()),
st AS (
	INSERT INTO states (channel_id, turn_num, state_hash, is_final, state)
	SELECT * FROM unnest($8::bytea[], $9::bigint[], $10::bytea[], $11::bool[], $12::bytea[])
	 WHERE EXISTS (SELECT FROM ok)
	ON CONFLICT DO NOTHING),
sg AS (
	INSERT INTO signatures (channel_id, turn_num, signer, state_hash, signature)
	SELECT * FROM unnest($13::bytea[], $14::bigint[], $15::bytea[], $16::bytea[], $17::bytea[])
	 WHERE EXISTS (SELECT FROM ok)
	ON CONFLICT DO NOTHING),
ob AS (
	INSERT INTO outbox (channel_id, kind, effect)
	SELECT c, k, e
	  FROM unnest($18::bytea[], $19::text[], $20::bytea[]) WITH ORDINALITY AS u(c, k, e, o)
	 WHERE EXISTS (SELECT FROM ok)
	 ORDER BY o
	RETURNING id),
dn AS (DELETE FROM outbox WHERE id = ANY($21::bigint[]) AND EXISTS (SELECT FROM ok)),
cu AS (UPDATE chain_cursor SET next_block = $22
	WHERE id = 1 AND $22::bigint >= 0 AND next_block < $22 AND EXISTS (SELECT FROM ok)),
sc AS (SELECT CASE WHEN $23::bool THEN set_config('synchronous_commit', 'off', true) END AS v)
SELECT (SELECT owner FROM owner), coalesce((SELECT array_agg(id ORDER BY id) FROM ob), '{}'), (SELECT v FROM sc)`
