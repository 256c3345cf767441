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
//
// This file holds the requests and how Commit prepares one;
// commit_evidence.go the states and signatures a request adds,
// commit_batch.go the committers and their statement, pgarray.go the
// statement's array parameters.

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"

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
	// sigs are the batch's signatures of this state, kept in its row
	// (sigRecord each): see foldSignatures.
	sigs []byte
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
		for _, id := range changes[i].Done {
			if id <= math.MaxInt64 {
				req.done = append(req.done, int64(id))
			}
		}
	}
	return req, nil
}

// sizeHint guesses the size of a channel's encoding.
func (s *Store) sizeHint(c *core.Channel) int {
	return 256 + 256*(len(c.States)+len(c.Held)) + 64*len(c.Participants)
}
