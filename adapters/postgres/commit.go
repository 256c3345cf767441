package postgres

// The write path. Commit encodes its changes in the caller's goroutine (JSON
// encoding is the expensive part and runs in parallel across callers), then
// queues a request. Committer goroutines take every request queued (up to
// MaxBatch) and write them in one transaction: the channel rows (upserted,
// which row-locks them, in id order so concurrent transactions never
// deadlock), the new states and signatures, the outbox entries (in request
// order), the outbox entries marked done and the chain cursor. Each request
// is answered only after COMMIT returned, i.e. after PostgreSQL flushed the
// WAL (synchronous_commit=on): a caller never acts on a write that is not
// durable. (A batch of nothing but Done marks and a cursor move does not
// wait for the flush: losing it in a server crash only repeats idempotent
// work.) While one transaction waits for its flush, the next batch gathers,
// so the number of WAL flushes grows with the number of batches, not of
// Steps.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
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
	evidence map[nitro.Bytes32]*evidence
	resp     chan result
}

type result struct {
	ids []uint64
	err error
}

type channelRow struct {
	id      nitro.Bytes32
	status  string
	funding string
	turn    int64
	myIndex int64
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
	sig     []byte
}

// rowKey identifies a states row (zero signer) or a signatures row in a batch.
type rowKey struct {
	channel nitro.Bytes32
	turn    int64
	hash    nitro.Bytes32
	signer  nitro.Address
}

type effectRow struct {
	channel nitro.Bytes32
	kind    string
	data    []byte
}

// prepare encodes changes into a request. Evidence (states and signatures)
// already written for a channel is left out; the rest is inserted with ON
// CONFLICT DO NOTHING, so a stale cache only costs a few extra rows.
func (s *Store) prepare(ctx context.Context, changes []ports.Change) (*request, error) {
	req := &request{ctx: ctx, cursor: -1, evidence: map[nitro.Bytes32]*evidence{}}
	pos := map[nitro.Bytes32]int{}
	for _, ch := range changes {
		c := ch.Channel
		if c.ID == (nitro.Bytes32{}) {
			return nil, fmt.Errorf("postgres store: commit of a channel without id")
		}
		data, err := encodeChannel(c)
		if err != nil {
			return nil, err
		}
		turn := c.TurnNum()
		if turn > math.MaxInt64 {
			return nil, fmt.Errorf("postgres store: channel %s: turn %d out of range", c.ID, turn)
		}
		row := channelRow{id: c.ID, status: string(c.Status()), funding: string(c.FundingStatus()), turn: int64(turn), myIndex: int64(c.MyIndex), data: data}
		if i, ok := pos[c.ID]; ok {
			req.channels[i] = row
		} else {
			pos[c.ID] = len(req.channels)
			req.channels = append(req.channels, row)
		}
		if err := s.prepareEvidence(req, c); err != nil {
			return nil, err
		}
		for _, e := range ch.Effects {
			kind, data, err := encodeEffect(e)
			if err != nil {
				return nil, err
			}
			req.effects = append(req.effects, effectRow{channel: c.ID, kind: kind, data: data})
		}
	}
	return req, nil
}

func (s *Store) prepareEvidence(req *request, c core.Channel) error {
	states, sigs := channelEvidence(c)
	ev := req.evidence[c.ID]
	if ev == nil {
		ev = &evidence{states: map[stateKey]struct{}{}, sigs: map[sigKey]struct{}{}}
		req.evidence[c.ID] = ev
	}
	s.mu.Lock()
	known := s.recorded[c.ID]
	var newStates []stateKey
	var newSigs []sigKey
	for k := range states {
		if _, dup := ev.states[k]; dup {
			continue
		}
		ev.states[k] = struct{}{}
		if known != nil {
			if _, ok := known.states[k]; ok {
				continue
			}
		}
		newStates = append(newStates, k)
	}
	for k := range sigs {
		if _, dup := ev.sigs[k]; dup {
			continue
		}
		ev.sigs[k] = struct{}{}
		if known != nil {
			if _, ok := known.sigs[k]; ok {
				continue
			}
		}
		newSigs = append(newSigs, k)
	}
	s.mu.Unlock()
	for _, k := range newStates {
		if k.turn > math.MaxInt64 {
			return fmt.Errorf("postgres store: channel %s: turn %d out of range", c.ID, k.turn)
		}
		st := states[k]
		data, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("postgres store: encode state: %w", err)
		}
		req.states = append(req.states, stateInsert{channel: c.ID, turn: int64(k.turn), hash: k.hash, final: st.IsFinal, state: data})
	}
	for _, k := range newSigs {
		if _, ok := states[stateKey{k.turn, k.hash}]; !ok {
			continue
		}
		req.sigs = append(req.sigs, sigInsert{channel: c.ID, turn: int64(k.turn), hash: k.hash, signer: k.signer, sig: sigs[k].Bytes()})
	}
	return nil
}

// submit queues a request and waits for its transaction.
func (s *Store) submit(ctx context.Context, req *request) ([]uint64, error) {
	req.resp = make(chan result, 1)
	s.closeMu.RLock()
	if s.closed {
		s.closeMu.RUnlock()
		return nil, ErrClosed
	}
	select {
	case s.queue <- req:
	case <-ctx.Done():
		s.closeMu.RUnlock()
		return nil, ctx.Err()
	}
	s.closeMu.RUnlock()
	// Once queued, the request is always answered: a caller must not
	// believe a write failed when it committed.
	r := <-req.resp
	return r.ids, r.err
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

// run commits a batch and answers its requests. Requests whose context
// ended while queued are answered with its error and not written. If the
// batch fails on a data or constraint error, each request is retried alone
// so one bad write cannot fail the others.
func (s *Store) run(batch []*request) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.resp <- result{err: err}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	ids, err := s.commitRetrying(live)
	if err != nil && len(live) > 1 && isStatementError(err) {
		for _, r := range live {
			ids, err := s.commitRetrying([]*request{r})
			if err != nil {
				r.resp <- result{err: err}
				continue
			}
			r.resp <- result{ids: ids[0]}
		}
		return
	}
	for i, r := range live {
		if err != nil {
			r.resp <- result{err: err}
			continue
		}
		r.resp <- result{ids: ids[i]}
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

// commitBatch writes a batch in one transaction and returns each request's
// outbox ids.
func (s *Store) commitBatch(batch []*request) (_ [][]uint64, err error) {
	ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
	defer cancel()
	var (
		chans   = map[nitro.Bytes32]channelRow{}
		states  = map[rowKey]stateInsert{}
		sigs    = map[rowKey]sigInsert{}
		effects []effectRow
		done    []int64
		cursor  int64 = -1
		changes uint64
	)
	for _, r := range batch {
		for _, c := range r.channels {
			chans[c.id] = c
			changes++
		}
		for _, st := range r.states {
			states[rowKey{st.channel, st.turn, st.hash, nitro.Address{}}] = st
		}
		for _, sg := range r.sigs {
			sigs[rowKey{sg.channel, sg.turn, sg.hash, sg.signer}] = sg
		}
		effects = append(effects, r.effects...)
		done = append(done, r.done...)
		cursor = max(cursor, r.cursor)
	}
	var a commitArgs
	rows := make([]channelRow, 0, len(chans))
	for _, c := range chans {
		rows = append(rows, c)
	}
	slices.SortFunc(rows, func(x, y channelRow) int { return bytes.Compare(x.id[:], y.id[:]) })
	for _, c := range rows {
		a.chID = append(a.chID, c.id[:])
		a.chStatus = append(a.chStatus, c.status)
		a.chFunding = append(a.chFunding, c.funding)
		a.chTurn = append(a.chTurn, c.turn)
		a.chIndex = append(a.chIndex, c.myIndex)
		a.chData = append(a.chData, string(c.data))
	}
	stRows := make([]stateInsert, 0, len(states))
	for _, st := range states {
		stRows = append(stRows, st)
	}
	slices.SortFunc(stRows, func(x, y stateInsert) int {
		if c := bytes.Compare(x.channel[:], y.channel[:]); c != 0 {
			return c
		}
		if x.turn != y.turn {
			return cmpInt(x.turn, y.turn)
		}
		return bytes.Compare(x.hash[:], y.hash[:])
	})
	for _, st := range stRows {
		a.stChannel = append(a.stChannel, st.channel[:])
		a.stTurn = append(a.stTurn, st.turn)
		a.stHash = append(a.stHash, st.hash[:])
		a.stFinal = append(a.stFinal, st.final)
		a.stData = append(a.stData, string(st.state))
	}
	sgRows := make([]sigInsert, 0, len(sigs))
	for _, sg := range sigs {
		sgRows = append(sgRows, sg)
	}
	slices.SortFunc(sgRows, func(x, y sigInsert) int {
		if c := bytes.Compare(x.channel[:], y.channel[:]); c != 0 {
			return c
		}
		if x.turn != y.turn {
			return cmpInt(x.turn, y.turn)
		}
		if c := bytes.Compare(x.signer[:], y.signer[:]); c != 0 {
			return c
		}
		return bytes.Compare(x.hash[:], y.hash[:])
	})
	for _, sg := range sgRows {
		a.sgChannel = append(a.sgChannel, sg.channel[:])
		a.sgTurn = append(a.sgTurn, sg.turn)
		a.sgSigner = append(a.sgSigner, sg.signer[:])
		a.sgHash = append(a.sgHash, sg.hash[:])
		a.sgSig = append(a.sgSig, sg.sig)
	}
	for _, e := range effects {
		a.obChannel = append(a.obChannel, e.channel[:])
		a.obKind = append(a.obKind, e.kind)
		a.obData = append(a.obData, string(e.data))
	}
	slices.Sort(done)
	a.done = slices.Compact(done)
	if a.done == nil {
		a.done = pq.Int64Array{}
	}

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("postgres store: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	s.hook("tx-begun")
	var (
		owner string
		got   pq.Int64Array
		async sql.NullString
	)
	if err := tx.StmtContext(ctx, s.commitStmt).QueryRowContext(ctx,
		a.chID, a.chStatus, a.chFunding, a.chTurn, a.chIndex, a.chData, channelFormat,
		a.stChannel, a.stTurn, a.stHash, a.stFinal, a.stData,
		a.sgChannel, a.sgTurn, a.sgSigner, a.sgHash, a.sgSig,
		a.obChannel, a.obKind, a.obData,
		a.done, cursor, len(chans) == 0 && len(effects) == 0,
	).Scan(&owner, &got, &async); err != nil {
		return nil, fmt.Errorf("postgres store: write: %w", err)
	}
	if owner != s.token {
		return nil, fmt.Errorf("%w: another process opened schema %s after this one", ErrLocked, s.schema)
	}
	if len(got) != len(effects) {
		return nil, fmt.Errorf("postgres store: outbox returned %d ids for %d effects", len(got), len(effects))
	}
	// Ids come from the sequence in insertion order, which is the
	// ordinality order, and are returned sorted: they are in request order.
	outIDs := make([]uint64, len(got))
	for i, id := range got {
		outIDs[i] = uint64(id)
	}
	s.hook("tx-written")
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("postgres store: commit: %w", err)
	}
	// Split the ids by request, and remember the evidence now written.
	out := make([][]uint64, len(batch))
	k := 0
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, r := range batch {
		out[i] = outIDs[k : k+len(r.effects) : k+len(r.effects)]
		k += len(r.effects)
		for id, ev := range r.evidence {
			s.recorded[id] = ev
		}
	}
	s.stats.Transactions++
	s.stats.Requests += uint64(len(batch))
	s.stats.Changes += changes
	return out, nil
}

func (s *Store) hook(point string) {
	if s.opt.FaultHook != nil {
		s.opt.FaultHook(point)
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// commitArgs are the parameters of commitSQL: one array per column.
type commitArgs struct {
	chID                               pq.ByteaArray
	chStatus, chFunding, chData        pq.StringArray
	chTurn, chIndex                    pq.Int64Array
	stChannel, stHash                  pq.ByteaArray
	stTurn                             pq.Int64Array
	stFinal                            pq.BoolArray
	stData                             pq.StringArray
	sgChannel, sgSigner, sgHash, sgSig pq.ByteaArray
	sgTurn                             pq.Int64Array
	obChannel                          pq.ByteaArray
	obKind, obData                     pq.StringArray
	done                               pq.Int64Array
}

// commitSQL writes a whole batch in one statement (one round trip, prepared
// once per connection), run between BEGIN and COMMIT. A batch of only Done
// marks and a cursor move ($23) commits without waiting for the WAL flush:
// losing it in a server crash only repeats idempotent work (an effect
// driven again, events read again), while every channel change and new
// effect is durable before Commit returns. It returns the owner
// token, checked under a share lock so that a process that lost its lock
// cannot commit after another one took the schema over, and the new outbox
// ids in order. Foreign keys are deferred to COMMIT, so the order in which
// PostgreSQL runs the parts does not matter.
const commitSQL = `WITH
owner AS (SELECT owner FROM wallet WHERE id = 1 FOR SHARE),
ch AS (
	INSERT INTO channels (id, status, funding_status, turn_num, my_index, format, data)
	SELECT i, s, f, t, m, $7, d::json
	  FROM unnest($1::bytea[], $2::text[], $3::text[], $4::bigint[], $5::int[], $6::text[]) AS u(i, s, f, t, m, d)
	ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, funding_status = EXCLUDED.funding_status,
		turn_num = EXCLUDED.turn_num, my_index = EXCLUDED.my_index, format = EXCLUDED.format,
		data = EXCLUDED.data, version = channels.version + 1, updated_at = now()),
st AS (
	INSERT INTO states (channel_id, turn_num, state_hash, is_final, state)
	SELECT c, t, h, f, d::json
	  FROM unnest($8::bytea[], $9::bigint[], $10::bytea[], $11::bool[], $12::text[]) AS u(c, t, h, f, d)
	ON CONFLICT DO NOTHING),
sg AS (
	INSERT INTO signatures (channel_id, turn_num, signer, state_hash, signature)
	SELECT * FROM unnest($13::bytea[], $14::bigint[], $15::bytea[], $16::bytea[], $17::bytea[])
	ON CONFLICT DO NOTHING),
ob AS (
	INSERT INTO outbox (channel_id, kind, effect)
	SELECT c, k, d::json
	  FROM unnest($18::bytea[], $19::text[], $20::text[]) WITH ORDINALITY AS u(c, k, d, o)
	 ORDER BY o
	RETURNING id),
dn AS (UPDATE outbox SET done_at = now() WHERE id = ANY($21::bigint[]) AND done_at IS NULL),
cu AS (UPDATE chain_cursor SET next_block = $22 WHERE id = 1 AND $22::bigint >= 0 AND next_block < $22),
sc AS (SELECT CASE WHEN $23::bool THEN set_config('synchronous_commit', 'off', true) END AS v)
SELECT (SELECT owner FROM owner), coalesce((SELECT array_agg(id ORDER BY id) FROM ob), '{}'), (SELECT v FROM sc)`
