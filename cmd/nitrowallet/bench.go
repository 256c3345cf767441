package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/tslive"
)

// benchOptions select what `nitrowallet bench` measures.
type benchOptions struct {
	duration time.Duration // measured time per repetition of a throughput row
	warmup   time.Duration // unmeasured time before the first repetition
	count    int           // repetitions; the table shows medians
	channels int           // channels of the parallel rows
	workers  int           // goroutines driving them (0: one per channel)
	paced    float64       // share of a parallel row's rate its paced row offers (0: none)
	yield    bool          // the update rows' workers yield between updates (set per row, not a flag)
	postgres string        // PostgreSQL URL; empty skips the PostgreSQL rows
	evm      bool          // run the simulated-chain rows
	evmChans int           // channels of the open→running→closed row
	many     int           // channels of the many-channels PostgreSQL row (0 skips it)
	idle     []int         // channel counts of the heap rows
	only     map[string]bool
	cpuprof  string
}

func (o benchOptions) want(group string) bool { return len(o.only) == 0 || o.only[group] }

// benchCommand parses the bench flags and prints the table.
func benchCommand(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, `usage: nitrowallet bench [flags]

Prints one Markdown table: off-chain updates between two wallets on the
memory and PostgreSQL stores (one channel ping-pong; many channels in
parallel; also with SingleAssetPayments as the channels' app) with
updates/s, p50 and p99 latency, allocations and CPU
per update, each against the sign + recover ceiling measured alongside it
in the same run; channel lifecycles on go-ethereum's simulated chain; and the
heap a store takes per idle channel. See docs/benchmarks.md.

`)
		fs.PrintDefaults()
	}
	o := benchOptions{}
	fs.DurationVar(&o.duration, "duration", 3*time.Second, "measured time per repetition of a throughput row")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured run before a row's first repetition")
	fs.IntVar(&o.count, "count", 5, "repetitions of each row; the table shows their medians")
	fs.IntVar(&o.channels, "channels", 64, "channels updated in parallel in the parallel rows")
	fs.IntVar(&o.workers, "workers", 0, "goroutines driving the parallel rows' channels, round-robin (0: one per channel)")
	fs.Float64Var(&o.paced, "paced", 0.5, "after each parallel row, offer this share of its updates/s on a fixed schedule (latency at that load; 0 skips)")
	fs.StringVar(&o.postgres, "postgres", os.Getenv("NITROWALLET_TEST_DATABASE_URL"),
		"PostgreSQL URL for the durable rows (schemas nitrowallet_bench_a and _b are reset); empty skips them")
	fs.BoolVar(&o.evm, "evm", true, "run the rows on go-ethereum's in-process simulated chain")
	fs.IntVar(&o.many, "many", 10000, "running channels the updates of the many-channels PostgreSQL row are spread over (0 skips it)")
	fs.IntVar(&o.evmChans, "evm-channels", 100, "channels of the open→running→closed row on the simulated chain")
	idle := fs.String("idle", "10000,100000", "channel counts for heap per idle channel (comma-separated; empty skips)")
	only := fs.String("only", "", "comma-separated row groups to run: ceiling, memory, postgres, open, ts, app, ws, evm, heap (default all)")
	fs.StringVar(&o.cpuprof, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if o.count < 1 || o.duration <= 0 || o.channels < 1 {
		return fmt.Errorf("bench: -count, -duration and -channels must be positive")
	}
	for _, s := range strings.Split(*idle, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("bench: -idle: bad count %q", s)
		}
		o.idle = append(o.idle, n)
	}
	if *only != "" {
		o.only = map[string]bool{}
		for _, g := range strings.Split(*only, ",") {
			o.only[strings.TrimSpace(g)] = true
		}
	}
	if o.cpuprof != "" {
		f, err := os.Create(o.cpuprof)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	return benchRun(ctx, o, out, strings.Join(append([]string{"nitrowallet", "bench"}, args...), " "))
}

// benchRow is one line of the table.
type benchRow struct {
	name    string
	value   float64 // in unit
	unit    string
	p50     time.Duration
	p99     time.Duration
	p999    time.Duration
	allocs  float64       // per operation; negative when not measured
	ceiling float64       // the ceiling measured alongside (same unit); 0 for none
	ratio   float64       // value / ceiling, the median over repetitions
	cpuOp   time.Duration // process CPU time per operation (median)
	cpuRate float64       // ceiling CPU per op / row CPU per op (median)
	spread  float64       // (max-min)/median of value over the repetitions
	note    string
	pg      *benchPGStats // the PostgreSQL server's work (bench_pgstats.go); nil for none
}

// benchSample is one repetition of a throughput row.
type benchSample struct {
	ops     int
	elapsed time.Duration
	cpu     time.Duration   // the process's CPU time (user + system)
	lat     []time.Duration // per operation, sorted
	mallocs uint64
}

// cpuPerOp is the process CPU time per operation.
func (s benchSample) cpuPerOp() float64 { return float64(s.cpu) / float64(max(s.ops, 1)) }

// benchCPUTime returns the process's CPU time so far.
func benchCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (s benchSample) rate() float64 { return float64(s.ops) / s.elapsed.Seconds() }

func (s benchSample) quantile(q float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	return s.lat[min(len(s.lat)-1, int(q*float64(len(s.lat))))]
}

// benchSummarize turns repetitions into a row of medians. With ceiling
// samples (one per repetition), the row's share of the ceiling is the
// median of the repetitions' ratios.
func benchSummarize(name, unit string, ss, ceils []benchSample) benchRow {
	med := func(f func(benchSample) float64) float64 {
		v := make([]float64, len(ss))
		for i, s := range ss {
			v[i] = f(s)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	r := benchRow{name: name, unit: unit}
	r.value = med(benchSample.rate)
	r.cpuOp = time.Duration(med(benchSample.cpuPerOp))
	if len(ceils) == len(ss) {
		ratios := make([]float64, len(ss))
		cpu := make([]float64, len(ss))
		for i := range ss {
			ratios[i] = ss[i].rate() / ceils[i].rate()
			cpu[i] = ceils[i].cpuPerOp() / ss[i].cpuPerOp()
		}
		slices.Sort(ratios)
		slices.Sort(cpu)
		r.ratio, r.cpuRate = ratios[len(ratios)/2], cpu[len(cpu)/2]
		r.ceiling = benchSummarize("", "", ceils, nil).value
	}
	r.p50 = time.Duration(med(func(s benchSample) float64 { return float64(s.quantile(0.50)) }))
	r.p99 = time.Duration(med(func(s benchSample) float64 { return float64(s.quantile(0.99)) }))
	r.p999 = time.Duration(med(func(s benchSample) float64 { return float64(s.quantile(0.999)) }))
	r.allocs = med(func(s benchSample) float64 { return float64(s.mallocs) / float64(max(s.ops, 1)) })
	lo, hi := ss[0].rate(), ss[0].rate()
	for _, s := range ss {
		lo, hi = min(lo, s.rate()), max(hi, s.rate())
	}
	if r.value > 0 {
		r.spread = (hi - lo) / r.value
	}
	return r
}

// benchWorkload runs its workers until stop is set and returns when every
// worker has stopped; each worker logs one latency per operation in rec.
type benchWorkload func(stop *atomic.Bool, rec *benchRecorder) error

// benchMeasure runs a workload for the warm-up, then count times for the
// duration, and returns one sample per repetition. With a ceiling
// workload, each repetition is preceded by a run of the ceiling for a
// third of the duration, so that a row and its ceiling are measured under
// the same conditions; their samples are returned in pairs.
func benchMeasure(ctx context.Context, o benchOptions, w, ceiling benchWorkload) (rows, ceils []benchSample, err error) {
	if o.warmup > 0 {
		if _, err := benchRunOnce(ctx, w, o.warmup); err != nil {
			return nil, nil, err
		}
	}
	for rep := 0; rep < o.count; rep++ {
		if ceiling != nil {
			c, err := benchRunOnce(ctx, ceiling, max(o.duration/3, 100*time.Millisecond))
			if err != nil {
				return nil, nil, err
			}
			ceils = append(ceils, c)
		}
		s, err := benchRunOnce(ctx, w, o.duration)
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, s)
	}
	return rows, ceils, nil
}

// benchRunOnce runs a workload for d and returns its sample.
func benchRunOnce(ctx context.Context, w benchWorkload, d time.Duration) (benchSample, error) {
	runtime.GC()
	rec := &benchRecorder{}
	var stop atomic.Bool
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	t0, c0 := time.Now(), benchCPUTime()
	errc := make(chan error, 1)
	go func() { errc <- w(&stop, rec) }()
	timer := time.NewTimer(d)
	var err error
	select {
	case <-timer.C:
		stop.Store(true)
		err = <-errc
	case err = <-errc:
		timer.Stop()
		if err == nil {
			err = fmt.Errorf("bench: the workload ended early")
		}
	case <-ctx.Done():
		stop.Store(true)
		<-errc
		err = ctx.Err()
	}
	el, cpu := time.Since(t0), benchCPUTime()-c0
	runtime.ReadMemStats(&ms1)
	if err != nil {
		return benchSample{}, err
	}
	s := rec.collect()
	s.elapsed, s.cpu, s.mallocs = el, cpu, ms1.Mallocs-ms0.Mallocs
	return s, nil
}

// benchRecorder gathers per-operation latencies from many workers.
type benchRecorder struct {
	mu   sync.Mutex
	lats [][]time.Duration
}

// worker returns a latency log for one worker; add to it without locking.
func (r *benchRecorder) worker() *benchLatLog {
	return &benchLatLog{r: r, lat: make([]time.Duration, 0, 4096)}
}

type benchLatLog struct {
	r   *benchRecorder
	lat []time.Duration
}

func (l *benchLatLog) add(d time.Duration) { l.lat = append(l.lat, d) }

// done hands the log to the recorder.
func (l *benchLatLog) done() {
	l.r.mu.Lock()
	l.r.lats = append(l.r.lats, l.lat)
	l.r.mu.Unlock()
}

func (r *benchRecorder) collect() benchSample {
	var all []time.Duration
	for _, l := range r.lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	return benchSample{ops: len(all), lat: all}
}

// runBench measures every selected row and prints the table.
func benchRun(ctx context.Context, o benchOptions, out io.Writer, cmdline string) error {
	fmt.Fprintf(out, "$ %s\n", cmdline)
	fmt.Fprintf(out, "%s %s/%s, GOMAXPROCS=%d, %s, %s\n\n", runtime.Version(), runtime.GOOS, runtime.GOARCH,
		runtime.GOMAXPROCS(0), benchCPUModel(), time.Now().UTC().Format("2006-01-02 15:04 MST"))
	var rows []benchRow
	var notes []string
	progress := func(r benchRow) {
		rows = append(rows, r)
		fmt.Fprintf(os.Stderr, "bench: %s: %.0f %s\n", r.name, r.value, r.unit)
	}
	procs := runtime.GOMAXPROCS(0)
	// The ceiling: one sign and one recover per update, on one goroutine
	// (what one channel's ping-pong can reach) and on one per core (what
	// many channels can reach). Each throughput row is also paired with
	// runs of its ceiling, interleaved, for its ratio.
	ceilings := map[int]benchWorkload{1: benchCeilingWorkload(1), procs: benchCeilingWorkload(procs)}
	if o.want("ceiling") {
		for _, g := range []int{1, procs} {
			ss, _, err := benchMeasure(ctx, o, ceilings[g], nil)
			if err != nil {
				return err
			}
			name := "ceiling: sign + recover, 1 goroutine"
			if g > 1 {
				name = fmt.Sprintf("ceiling: sign + recover, %d goroutines", g)
			}
			r := benchSummarize(name, "updates/s", ss, nil)
			r.ceiling, r.ratio, r.cpuRate = r.value, 1, 1
			progress(r)
			if procs == 1 {
				break
			}
		}
	}
	for _, st := range []struct{ group, name, url string }{{"memory", "memory", "memory"}, {"postgres", "postgres", o.postgres}} {
		if !o.want(st.group) {
			continue
		}
		if st.url == "" {
			notes = append(notes, "postgres rows skipped: no -postgres URL (or NITROWALLET_TEST_DATABASE_URL)")
			continue
		}
		var floor float64 // the floor row's commits/s (bench_pgfloor.go)
		if st.name == "postgres" {
			r, err := benchFloorRow(ctx, o, st.url)
			if err != nil {
				return err
			}
			progress(r)
			floor = r.value
		}
		for _, n := range []int{1, o.channels} {
			ceil := ceilings[1]
			what := "1 channel ping-pong"
			if n > 1 {
				ceil = ceilings[procs]
				what = fmt.Sprintf("%d channels in parallel", n)
			}
			ss, cs, pg, err := benchUpdatesStats(ctx, o, st.url, n, nil, ceil)
			if err != nil {
				return fmt.Errorf("bench %s, %d channels: %w", st.name, n, err)
			}
			r := benchSummarize(fmt.Sprintf("%s: %s", st.name, what), "updates/s", ss, cs)
			r.pg = pg
			if n == 1 && floor > 0 && pg != nil && pg.ops > 0 && pg.commits > 0 {
				c := min(benchSerialCommits, float64(pg.commits)/float64(pg.ops))
				r.note = fmt.Sprintf("at most %s/s: the floor ÷ %.3g commits in series", benchFmtNum(floor/c), c)
			}
			progress(r)
			if n > 1 && st.name == "memory" {
				// The same closed loop with workers that yield between
				// updates, as clients waiting on their network do: the
				// memory row's goroutines never block, so each runs a
				// whole time slice of updates, and an update preempted
				// midway waits for every other goroutine's slice.
				oy := o
				oy.yield = true
				ss, cs, err := benchUpdates(ctx, oy, st.url, n, nil, ceil)
				if err != nil {
					return fmt.Errorf("bench %s, %d channels, yielding: %w", st.name, n, err)
				}
				progress(benchSummarize(fmt.Sprintf("%s: %s, yielding between updates", st.name, what), "updates/s", ss, cs))
			}
			if n > 1 && o.paced > 0 {
				pr, err := benchPacedRow(ctx, o, st.name, st.url, n, o.paced*r.value, o.paced, ceil)
				if err != nil {
					return fmt.Errorf("bench %s, %d channels paced: %w", st.name, n, err)
				}
				progress(pr)
			}
		}
	}
	// The many-channels row and the open rows (bench_many.go, bench_open.go).
	if err := benchMoreRows(ctx, o, ceilings[procs], progress, &notes); err != nil {
		return err
	}
	if o.want("ts") {
		// The baseline: the TypeScript server wallet 1.13.1, two of them
		// on the same PostgreSQL, Fake funded, the same two rows; each
		// durable row above gets its ratio to the TS row of its kind.
		if o.postgres == "" {
			notes = append(notes, "ts rows skipped: no -postgres URL (or NITROWALLET_TEST_DATABASE_URL)")
		} else if err := tslive.Installed(); err != nil {
			notes = append(notes, "ts rows skipped: "+err.Error())
		} else {
			for _, n := range []int{1, o.channels} {
				what := "1 channel ping-pong"
				if n > 1 {
					what = fmt.Sprintf("%d channels in parallel", n)
				}
				ss, err := benchTSUpdates(ctx, o, n)
				if err != nil {
					return fmt.Errorf("bench ts, %d channels: %w", n, err)
				}
				ts := benchSummarize(fmt.Sprintf("TS server-wallet 1.13.1 on postgres: %s", what), "updates/s", ss, nil)
				// Its work is in the node processes: this process's CPU
				// and allocations say nothing of it.
				ts.allocs, ts.cpuOp, ts.note = -1, 0, "Fake funding, 2 node processes"
				progress(ts)
				for i := range rows {
					if rows[i].name == "postgres: "+what && ts.value > 0 {
						rows[i].note = strings.TrimPrefix(rows[i].note+"; ", "; ") + fmt.Sprintf("%.1f× TS", rows[i].value/ts.value)
					}
				}
			}
		}
	}
	if o.want("app") {
		// The parallel memory row again, and the PostgreSQL rows, with
		// channels whose app is SingleAssetPayments: each update is also
		// judged by the app's validTransition, and needs no
		// countersignature (one signature, two durable commits).
		a, err := benchSingleAssetPayments()
		if err != nil {
			return fmt.Errorf("bench app: %w", err)
		}
		type appRow struct {
			store, url string
			n          int
		}
		appRows := []appRow{{"memory", "memory", o.channels}}
		if o.postgres != "" {
			appRows = append(appRows, appRow{"postgres", o.postgres, 1}, appRow{"postgres", o.postgres, o.channels})
		}
		for _, ar := range appRows {
			ceil, what := ceilings[procs], fmt.Sprintf("%d channels in parallel", ar.n)
			if ar.n == 1 {
				ceil, what = ceilings[1], "1 channel ping-pong"
			}
			ss, cs, pg, err := benchUpdatesStats(ctx, o, ar.url, ar.n, &a, ceil)
			if err != nil {
				return fmt.Errorf("bench %s, %s, %s: %w", ar.store, what, a.name, err)
			}
			r := benchSummarize(fmt.Sprintf("%s: %s, %s", ar.store, what, a.name), "updates/s", ss, cs)
			r.pg = pg
			progress(r)
		}
	}
	if o.want("ws") {
		// The parallel memory row over the API: two servers on loopback,
		// driven through WebSocket sessions, paired with the same channels
		// in process, whose figure stands in the ceiling columns.
		ss, cs, err := benchWSUpdates(ctx, o, o.channels)
		if err != nil {
			return fmt.Errorf("bench websocket, %d channels: %w", o.channels, err)
		}
		r := benchSummarize(fmt.Sprintf("websocket: %d channels in parallel, 2 servers on loopback", o.channels), "updates/s", ss, cs)
		r.note = "ceiling: the same channels in process"
		progress(r)
	}
	if o.want("evm") && o.evm {
		rs, err := benchEVM(ctx, o)
		if err != nil {
			return fmt.Errorf("bench evm: %w", err)
		}
		for _, r := range rs {
			progress(r)
		}
	}
	if o.want("heap") {
		for _, n := range o.idle {
			r, err := benchIdleHeap(ctx, n)
			if err != nil {
				return fmt.Errorf("bench heap: %w", err)
			}
			progress(r)
		}
	}
	benchPrintTable(out, rows)
	benchPrintPGTable(out, rows)
	benchPrintPGStatements(out, rows)
	for _, n := range notes {
		fmt.Fprintln(out, n)
	}
	return nil
}

func benchCPUModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// benchCeilingWorkload signs a state hash and recovers its signer in a loop on g
// goroutines: the least an off-chain update costs (the mover signs, the
// receiver recovers).
func benchCeilingWorkload(g int) benchWorkload {
	return benchLoops(g, false, func(i int) func(k int) error {
		s := memory.SignerFromSeed(fmt.Sprintf("nitrowallet-bench-ceiling-%d", i))
		var h nitro.Bytes32
		h[0] = byte(i)
		return func(k int) error {
			for j := 0; j < 8; j++ {
				h[24+j] = byte(uint64(k) >> (8 * j))
			}
			sig, err := s.SignState(context.Background(), h)
			if err != nil {
				return err
			}
			who, err := nitro.RecoverSigner(h, sig)
			if err == nil && who != s.Address() {
				err = fmt.Errorf("recovered %s, want %s", who, s.Address())
			}
			return err
		}
	}, nil)
}

// benchLoops is a workload of n goroutines: goroutine g calls the
// operation op(g) returns, with the number of its calls so far, until stop
// is set, logging each call's latency. With yield, a goroutine yields the
// processor after each call (untimed), as a client waiting on its network
// for the next request would; without, it runs on for its whole time
// slice. It returns the first failure, joined with what after reports
// (nil: nothing more).
func benchLoops(n int, yield bool, op func(g int) func(k int) error, after func() error) benchWorkload {
	return func(stop *atomic.Bool, rec *benchRecorder) error {
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for g := 0; g < n; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				log := rec.worker()
				defer log.done()
				call := op(g)
				for k := 0; !stop.Load(); k++ {
					t0 := time.Now()
					if err := call(k); err != nil {
						errs <- err
						return
					}
					log.add(time.Since(t0))
					if yield {
						runtime.Gosched()
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		err := <-errs
		if after != nil {
			err = errors.Join(err, after())
		}
		return err
	}
}
