package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// The "many channels" row: updates spread over thousands of running
// channels (10,000 by default, -many), by a pool of goroutines, so that
// the wallets' caches and the store's indexes hold many channels and no
// channel is hot.

// openBatch opens n channels between A and B with the pair's funding
// strategy, in batch calls of at most app.MaxBatchChannels (CreateChannels
// on A, JoinChannels on B), and waits until both wallets run them all.
func (p *benchPair) openBatch(n int) ([]nitro.Bytes32, error) {
	A, B := p.parties[0], p.parties[1]
	ids := make([]nitro.Bytes32, 0, n)
	for len(ids) < n {
		k := min(n-len(ids), app.MaxBatchChannels)
		r, err := A.w.CreateChannels(p.ctx, app.CreateChannelParams{Participants: []app.Participant{A.me, B.me},
			Allocations: p.allocation(5, 3), AppDefinition: p.appDef, FundingStrategy: p.funding}, k)
		if err != nil {
			return nil, err
		}
		batch := make([]nitro.Bytes32, 0, k)
		for _, c := range r.ChannelResults {
			batch = append(batch, c.ChannelID)
			p.turns.Store(c.ChannelID, new(atomic.Int64))
		}
		if err := p.deliver(r.Outbox); err != nil {
			return nil, err
		}
		if r, err = B.w.JoinChannels(p.ctx, batch); err != nil {
			return nil, err
		}
		if err := p.deliver(r.Outbox); err != nil {
			return nil, err
		}
		ids = append(ids, batch...)
	}
	for _, id := range ids {
		if err := p.wait(id, time.Minute, benchRunning); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// spreadWorkload updates the channels on workers goroutines: each owns
// every workers-th channel and updates its channels in turn, one update
// at a time, taking up where it stopped in the previous run, so that every
// channel is updated as often as the others whatever the runs' lengths.
// A channel has one goroutine, so its movers alternate as in update.
func (p *benchPair) spreadWorkload(ids []nitro.Bytes32, workers int) benchWorkload {
	workers = max(1, min(workers, len(ids)))
	next := make([]int, workers) // per goroutine, across runs
	return benchLoops(workers, false, func(w int) func(int) error {
		mine := (len(ids) - w + workers - 1) / workers // channels w, w+workers, ...
		return func(int) error {
			if err := p.update(ids[w+next[w]*workers]); err != nil {
				return err
			}
			next[w] = (next[w] + 1) % mine
			return nil
		}
	}, p.failure)
}

// benchMany measures updates spread over n running channels (Fake funded,
// opened in batches before the measurement) by workers goroutines,
// between two wallets on the memory chain with the named store; on
// PostgreSQL also the server's work per update. It returns the channels'
// update counts, lowest and highest, over the warm-up and repetitions.
func benchMany(ctx context.Context, o benchOptions, store string, n, workers int, ceiling benchWorkload) (rows, ceils []benchSample, st *benchPGStats, spread [2]int64, err error) {
	var ids []nitro.Bytes32
	setup := func(p *benchPair) error {
		p.funding = core.FundingFake
		var err error
		ids, err = p.openBatch(n)
		return err
	}
	var p *benchPair
	work := func(q *benchPair) benchWorkload { p = q; return q.spreadWorkload(ids, workers) }
	if isPostgresURL(store) {
		rows, ceils, st, err = benchMeasurePG(ctx, o, store, setup, work, ceiling)
	} else {
		var q *benchPair
		if q, err = newBenchPair(ctx, newBenchMemoryChain(), store); err != nil {
			return nil, nil, nil, spread, err
		}
		defer q.close()
		if err = setup(q); err == nil {
			rows, ceils, err = benchMeasure(ctx, o, work(q), ceiling)
		}
	}
	if err != nil {
		return nil, nil, nil, spread, fmt.Errorf("%d channels: %w", n, err)
	}
	spread = [2]int64{-1, 0}
	for _, id := range ids {
		t, _ := p.turns.Load(id)
		k := t.(*atomic.Int64).Load()
		if spread[0] < 0 || k < spread[0] {
			spread[0] = k
		}
		spread[1] = max(spread[1], k)
	}
	return rows, ceils, st, spread, nil
}

// benchManyRow measures the many-channels row on PostgreSQL: o.many
// channels, o.workers goroutines (o.channels if 0).
func benchManyRow(ctx context.Context, o benchOptions, store string, ceiling benchWorkload) (benchRow, error) {
	workers := o.workers
	if workers <= 0 {
		workers = o.channels
	}
	ss, cs, pg, spread, err := benchMany(ctx, o, store, o.many, workers, ceiling)
	if err != nil {
		return benchRow{}, fmt.Errorf("bench postgres, many channels: %w", err)
	}
	r := benchSummarize(fmt.Sprintf("postgres: %s channels updated concurrently", benchFmtCount(int64(o.many))), "updates/s", ss, cs)
	r.note = fmt.Sprintf("%d goroutines, %d–%d updates per channel", workers, spread[0], spread[1])
	r.pg = pg
	return r, nil
}

// benchMoreRows measures the many-channels row (group postgres) and the
// open rows (group open) and hands each to progress.
func benchMoreRows(ctx context.Context, o benchOptions, ceiling benchWorkload, progress func(benchRow), notes *[]string) error {
	if o.want("postgres") && o.postgres != "" && o.many > 0 {
		r, err := benchManyRow(ctx, o, o.postgres, ceiling)
		if err != nil {
			return err
		}
		progress(r)
	}
	if !o.want("open") {
		return nil
	}
	for _, st := range []struct{ name, url string }{{"memory", "memory"}, {"postgres", o.postgres}} {
		if st.url == "" {
			*notes = append(*notes, "postgres open row skipped: no -postgres URL (or NITROWALLET_TEST_DATABASE_URL)")
			continue
		}
		r, err := benchOpenRow(ctx, o, st.name, st.url, ceiling)
		if err != nil {
			return err
		}
		progress(r)
	}
	return nil
}
