package postgres

// The group commit: committer goroutines gather queued requests into
// batches and write each batch in one statement (see commit.go).

import (
	"bytes"
	"cmp"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

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
	obs := s.batchObs.Load()
	var start time.Time
	if obs != nil {
		start = time.Now()
	}
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
	foldSignatures(states, sigs)
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
		stSigs                                             = &arrays[20]
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
	stSigs.start(oidBytea, 4*n+len(sigs)*sigRecord)
	for i := range states {
		st := &states[i]
		stChannel.elem(st.channel[:])
		stTurn.int8(st.turn)
		stHash.elem(st.hash[:])
		stFinal.bool(st.final)
		stData.elem(st.state)
		stSigs.elem(st.sigs)
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
		dn.bytes(), cursor, len(chans) == 0 && len(effects) == 0, stSigs.bytes(),
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
	s.mu.Unlock()
	if obs != nil {
		(*obs)(ports.CommitBatch{Requests: len(batch), Changes: int(changes), Duration: time.Since(start)})
	}
	return out, nil
}

// ObserveBatches has f called after each commit transaction that
// succeeded, with the requests (Commit and Done calls) it carried, until
// ObserveBatches is called again (nil stops it). f runs on a committer
// goroutine: it must be quick and must not call the store.
func (s *Store) ObserveBatches(f func(ports.CommitBatch)) {
	if f == nil {
		s.batchObs.Store(nil)
		return
	}
	s.batchObs.Store(&f)
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

// commitSQL writes a whole batch in one statement: one round trip,
// prepared once per connection, and one transaction of its own (no BEGIN
// and COMMIT round trips). $1 is this store's owner token: the statement
// reads the owner under a share lock, so that a process that lost its lock
// cannot commit after another one took the schema over, and every part of
// it writes only if the token matches (the caller then sees the other
// owner and reports ErrLocked). Rows come as arrays, one per column, which
// unnest turns back into rows. A state inserted here keeps the batch's
// signatures of it in its row ($24, see foldSignatures), and those are
// not inserted again as signature rows; a signature of a state already
// stored (the insert of its state did nothing) gets its own row. Done
// marks delete their outbox entries. A
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
	INSERT INTO states (channel_id, turn_num, state_hash, is_final, state, signatures)
	SELECT * FROM unnest($8::bytea[], $9::bigint[], $10::bytea[], $11::bool[], $12::bytea[], $24::bytea[])
	 WHERE EXISTS (SELECT FROM ok)
	ON CONFLICT DO NOTHING
	RETURNING channel_id, turn_num, state_hash, signatures),
sg AS (
	INSERT INTO signatures (channel_id, turn_num, signer, state_hash, signature)
	SELECT * FROM unnest($13::bytea[], $14::bigint[], $15::bytea[], $16::bytea[], $17::bytea[]) AS u(c, t, r, h, g)
	 WHERE EXISTS (SELECT FROM ok)
	   AND NOT EXISTS (SELECT FROM st WHERE st.channel_id = u.c AND st.turn_num = u.t AND st.state_hash = u.h
	                     AND (position(u.r || u.g IN st.signatures) - 1) % 85 = 0)
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

// sigRecord is the size of one signature kept in its state's row: the
// signer's address, then the 65-byte signature.
const sigRecord = 20 + 65

// foldSignatures puts into each state to insert the batch's signatures of
// it (sigs, sorted), one sigRecord each, so that a state and the
// signatures that come with it are one row (commitSQL writes a signature
// row only for a signature whose state was stored before).
func foldSignatures(states []stateInsert, sigs []sigInsert) {
	if len(states) == 0 || len(sigs) == 0 {
		return
	}
	type key struct {
		channel nitro.Bytes32
		turn    int64
		hash    nitro.Bytes32
	}
	at := make(map[key]int, len(states))
	for i := range states {
		at[key{states[i].channel, states[i].turn, states[i].hash}] = i
	}
	for i := range sigs {
		sg := &sigs[i]
		if k, ok := at[key{sg.channel, sg.turn, sg.hash}]; ok {
			st := &states[k]
			st.sigs = append(append(st.sigs, sg.signer[:]...), sg.sig[:]...)
		}
	}
}
