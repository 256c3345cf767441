package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Why a paced row. The parallel rows are closed loops: each of n
// goroutines starts its channel's next update as soon as the last one
// returns, so n updates are always in flight and, by Little's law, the
// mean latency is n ÷ updates/s whatever the wallet does (64 channels at
// 6,000 updates/s: 10.7 ms). Go's scheduler runs a goroutine until it
// blocks or its 10 ms slice ends, so most updates run through in one go
// (the p50) and the few preempted mid-update wait for the others' slices
// (the p99): the tail there is the queue, not the wallet. A server sees
// its clients' requests arrive on their own schedule; the paced row
// offers updates at a set rate below what the closed loop reached, each
// channel's on a fixed schedule (the channels' schedules spread evenly
// over the interval), and takes each latency from the time the update
// was due, so that an update delayed by the one before it counts the
// delay (no coordinated omission). Its percentiles are the wallet's
// latency at that load.

// pacedWorkload updates each channel once every len(ids)/rate, the
// channels' turns spread evenly, until stopped.
func (p *benchPair) pacedWorkload(ids []nitro.Bytes32, rate float64) benchWorkload {
	interval := time.Duration(float64(len(ids)) / rate * float64(time.Second))
	return func(stop *atomic.Bool, rec *benchRecorder) error {
		var wg sync.WaitGroup
		errs := make(chan error, len(ids))
		start := time.Now()
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				log := rec.worker()
				defer log.done()
				due := start.Add(interval * time.Duration(i) / time.Duration(len(ids)))
				for !stop.Load() {
					if d := time.Until(due); d > 0 {
						time.Sleep(d)
						if stop.Load() {
							return
						}
					}
					if err := p.update(id); err != nil {
						errs <- err
						return
					}
					log.add(time.Since(due))
					due = due.Add(interval)
				}
			}()
		}
		wg.Wait()
		close(errs)
		return errors.Join(<-errs, p.failure())
	}
}

// benchPacedRow measures the updates of n channels offered at rate
// updates/s (share of the closed-loop row's figure) on the named store,
// each repetition paired with a run of the ceiling workload.
func benchPacedRow(ctx context.Context, o benchOptions, group, store string, n int, rate, share float64, ceiling benchWorkload) (benchRow, error) {
	p, err := newBenchPair(ctx, newBenchMemoryChain(), store)
	if err != nil {
		return benchRow{}, err
	}
	defer p.close()
	ids, err := p.open(n)
	if err != nil {
		return benchRow{}, err
	}
	ss, cs, err := benchMeasure(ctx, o, p.pacedWorkload(ids, rate), ceiling)
	if err != nil {
		return benchRow{}, err
	}
	name := fmt.Sprintf("%s: %d channels, paced at %.0f%% of the row above (%s updates/s offered)", group, n, 100*share, benchFmtNum(rate))
	return benchSummarize(name, "updates/s", ss, cs), nil
}
