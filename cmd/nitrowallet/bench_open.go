package main

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// The "open" rows: channels opened per second between two wallets, from
// A's CreateChannel to both wallets running, Fake funded (no deposits: a
// channel runs once its postfund round is signed), many at a time.

// benchOpenSigs is what opening a two-party channel signs and recovers:
// two prefund and two postfund states, each signed by one wallet and
// recovered by the other. The open rows' ceiling is the sign + recover
// ceiling divided by it.
const benchOpenSigs = 4

// openOne opens one channel: A proposes it, B joins, and the messages are
// delivered until none is left. It returns once both wallets run it (with
// Fake funding, the calls' own results say so; otherwise it waits for the
// wallets' notifications).
func (p *benchPair) openOne() (nitro.Bytes32, error) {
	A, B := p.parties[0], p.parties[1]
	r, err := A.w.CreateChannel(p.ctx, app.CreateChannelParams{Participants: []app.Participant{A.me, B.me},
		Allocations: p.allocation(5, 3), AppDefinition: p.appDef, FundingStrategy: p.funding})
	if err != nil {
		return nitro.Bytes32{}, err
	}
	id := r.ChannelResults[0].ChannelID
	p.turns.Store(id, new(atomic.Int64))
	status := map[string]core.Status{A.name: r.ChannelResults[0].Status}
	if err := p.deliverTracking(id, r.Outbox, status); err != nil {
		return id, err
	}
	if r, err = B.w.JoinChannel(p.ctx, id); err != nil {
		return id, err
	}
	if c, ok := r.Channel(id); ok {
		status[B.name] = c.Status
	}
	if err := p.deliverTracking(id, r.Outbox, status); err != nil {
		return id, err
	}
	if status[A.name] == core.StatusRunning && status[B.name] == core.StatusRunning {
		return id, nil
	}
	return id, p.wait(id, time.Minute, benchRunning)
}

// deliverTracking is deliver, noting in status each recipient's status of
// channel id as its PushMessage returns it.
func (p *benchPair) deliverTracking(id nitro.Bytes32, msgs []app.Message, status map[string]core.Status) error {
	for len(msgs) > 0 {
		m := msgs[0]
		msgs = msgs[1:]
		to := p.party(m.Recipient)
		if to == nil {
			return errors.New("bench: no wallet for recipient " + m.Recipient)
		}
		r, err := to.w.PushMessage(p.ctx, m.Data)
		if err != nil {
			return err
		}
		if c, ok := r.Channel(id); ok {
			status[to.name] = c.Status
		}
		msgs = append(msgs, r.Outbox...)
	}
	return nil
}

// openWorkload opens channels on inflight goroutines, one after the other
// on each, logging each channel's open time.
func (p *benchPair) openWorkload(inflight int) benchWorkload {
	return benchLoops(inflight, false, func(int) func(int) error {
		return func(int) error {
			_, err := p.openOne()
			return err
		}
	}, p.failure)
}

// benchOpen measures channels opened per second, inflight at a time, Fake
// funded, between two wallets on the memory chain with the named store;
// on PostgreSQL also the server's work per channel. Each repetition is
// paired with a run of the ceiling, whose samples are returned per
// channel (benchOpenSigs signatures and recoveries).
func benchOpen(ctx context.Context, o benchOptions, store string, inflight int, ceiling benchWorkload) (rows, ceils []benchSample, st *benchPGStats, err error) {
	if isPostgresURL(store) {
		rows, ceils, st, err = benchMeasurePG(ctx, o, store,
			func(p *benchPair) error { p.funding = core.FundingFake; return nil },
			func(p *benchPair) benchWorkload { return p.openWorkload(inflight) }, ceiling)
	} else {
		var p *benchPair
		if p, err = newBenchPair(ctx, newBenchMemoryChain(), store); err != nil {
			return nil, nil, nil, err
		}
		defer p.close()
		p.funding = core.FundingFake
		rows, ceils, err = benchMeasure(ctx, o, p.openWorkload(inflight), ceiling)
	}
	for i := range ceils {
		ceils[i].ops /= benchOpenSigs
	}
	return rows, ceils, st, err
}

// benchOpenRow measures the open row of the named store, o.channels at a
// time.
func benchOpenRow(ctx context.Context, o benchOptions, name, store string, ceiling benchWorkload) (benchRow, error) {
	ss, cs, pg, err := benchOpen(ctx, o, store, o.channels, ceiling)
	if err != nil {
		return benchRow{}, fmt.Errorf("bench %s, open: %w", name, err)
	}
	r := benchSummarize(fmt.Sprintf("%s: channels opened per second, two wallets, %d in flight", name, o.channels), "channels/s", ss, cs)
	r.note, r.pg = "Fake funding", pg
	return r, nil
}
