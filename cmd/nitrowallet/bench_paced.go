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
// channels' turns spread evenly, until stopped. One goroutine keeps the
// schedule (a benchTicker, exact to the kernel's timer on Linux: Go's own
// timers wake an idle process up to a millisecond late, which the row
// would count as the wallet's latency) and hands each turn, with the
// time it was due, to its channel's goroutine; a channel still busy with
// its last update finds the turn waiting when it is done, and the delay
// is counted.
func (p *benchPair) pacedWorkload(ids []nitro.Bytes32, rate float64) benchWorkload {
	step := time.Duration(float64(time.Second) / rate) // between two turns, over all channels
	return func(stop *atomic.Bool, rec *benchRecorder) error {
		tk, err := newBenchTicker(step)
		if err != nil {
			return err
		}
		defer tk.close()
		var wg sync.WaitGroup
		errs := make(chan error, len(ids)+1) // a failure per channel, and the ticker's
		turns := make([]chan time.Time, len(ids))
		for i, id := range ids {
			turns[i] = make(chan time.Time, 1<<12)
			wg.Add(1)
			go func() {
				defer wg.Done()
				log := rec.worker()
				defer log.done()
				for due := range turns[i] {
					if stop.Load() {
						continue // drain: the schedule goroutine may still send
					}
					if err := p.update(id); err != nil {
						errs <- err
						stop.Store(true)
						continue
					}
					log.add(time.Since(due))
				}
			}()
		}
		for k := 0; !stop.Load(); {
			due, n, err := tk.wait()
			if err != nil {
				errs <- err
				break
			}
			for ; n > 0; n-- {
				turns[k%len(ids)] <- due.Add(-time.Duration(n-1) * step)
				k++
			}
		}
		for _, c := range turns {
			close(c)
		}
		wg.Wait()
		close(errs)
		var all []error
		for err := range errs {
			all = append(all, err)
		}
		return errors.Join(errors.Join(all...), p.failure())
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
