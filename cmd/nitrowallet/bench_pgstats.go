package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math"
	neturl "net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// What the PostgreSQL server does per operation of a durable row, from its
// own counters: rows written to the wallets' tables (pg_stat_user_tables),
// WAL written (pg_current_wal_lsn), transactions committed in the database
// (pg_stat_database.xact_commit) and the CPU time of the server's
// processes (/proc/<pid>/stat, when the server runs on this machine).
//
// A backend publishes its table and transaction counters lazily (at most
// once a second while busy, ten seconds after it goes idle; on PostgreSQL
// 14 and older through the statistics collector), and only a backend's
// own pending counters can be flushed on demand. So the counters are read
// when the wallets' sessions hold nothing unpublished: the channels a row
// needs are set up first, the wallets are closed (a backend publishes
// everything as it exits) and opened again on the same stores, the
// counters are read, the row runs (warm-up and every repetition), the
// wallets are closed again and the counters read once their sessions are
// gone. Every operation between the two readings is counted. CPU is read
// before the second close, from the processes of the wallets' sessions
// (found by their application_name) and the server's background processes
// (WAL writer, checkpointer, autovacuum...).

// benchPGStats is what the server did during a row's operations.
type benchPGStats struct {
	ops           int64 // operations made between the two readings
	ins, upd, del int64 // rows inserted, updated, deleted in the wallets' schemas
	commits       int64 // xact_commit delta of the database (every client's)
	wal           int64 // WAL bytes written by the whole server; -1 if unknown
	cpu           time.Duration
	cpuOK         bool             // the server's processes are on this machine
	stmts         []benchStmtDelta // the statements run (bench_pgstatements.go)
	stmtsOK       bool             // pg_stat_statements was read
}

func (s benchPGStats) rows() int64 { return s.ins + s.upd + s.del }

// benchPGCounters is one reading of the server's counters.
type benchPGCounters struct {
	ins, upd, del, commits int64
	wal                    int64 // pg_current_wal_lsn in bytes; -1 if unknown
	cpu                    map[int]time.Duration
	stmts                  map[benchStmtKey]benchStmt // nil without pg_stat_statements
}

// benchPGProbe reads the counters of the server a row's wallets use.
type benchPGProbe struct {
	db      *sql.DB
	schemas []string
	app     string  // application_name of the wallets' sessions
	btime   float64 // boot time (Unix seconds) when the server is local, else 0
	stmts   bool    // pg_stat_statements can be read
}

// newBenchPGProbe connects to the server of url for the wallets whose
// schemas and sessions' application_name are given.
func newBenchPGProbe(ctx context.Context, url string, schemas []string, app string) (*benchPGProbe, error) {
	u, _, err := splitSearchPath(url, "")
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("postgres", u)
	if err != nil {
		return nil, fmt.Errorf("bench: postgres stats: %w", err)
	}
	db.SetMaxOpenConns(1)
	pr := &benchPGProbe{db: db, schemas: schemas, app: app}
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("bench: postgres stats: %w", err)
	}
	pr.btime = pr.localBootTime(ctx)
	pr.stmts = pr.enableStatements(ctx)
	return pr, nil
}

func (pr *benchPGProbe) close() { _ = pr.db.Close() }

// localBootTime returns this machine's boot time if the probe's own
// backend is a process of this machine (a process named postgres, started
// when the server says the session started), else 0: the server is
// elsewhere, or in a PID namespace of its own, and its CPU is not read.
func (pr *benchPGProbe) localBootTime(ctx context.Context) float64 {
	var pid int
	var start float64
	if err := pr.db.QueryRowContext(ctx, `SELECT pid, extract(epoch FROM backend_start)::float8
		FROM pg_stat_activity WHERE pid = pg_backend_pid()`).Scan(&pid, &start); err != nil {
		return 0
	}
	btime := benchBootTime()
	comm, _, started, ok := benchProcStat(pid)
	if btime == 0 || !ok || comm != "postgres" || math.Abs(btime+started-start) > 2 {
		return 0
	}
	return btime
}

// benchBootTime reads the boot time from /proc/stat (0 if unknown).
func benchBootTime() float64 {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "btime "); ok {
			t, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return t
		}
	}
	return 0
}

// benchClockTick is USER_HZ, the unit of /proc/<pid>/stat's times: 100
// on every Linux architecture Go supports.
const benchClockTick = 100

// benchProcStat reads a process's name, CPU time (user + system) and start
// time (seconds after boot) from /proc/<pid>/stat.
func benchProcStat(pid int) (comm string, cpu time.Duration, started float64, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, 0, false
	}
	s := string(b)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return "", 0, 0, false
	}
	f := strings.Fields(s[end+1:]) // f[0] is field 3 (state)
	if len(f) < 20 {
		return "", 0, 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	start, err3 := strconv.ParseInt(f[19], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return "", 0, 0, false
	}
	return s[open+1 : end], time.Duration(ut+st) * time.Second / benchClockTick, float64(start) / benchClockTick, true
}

// read reads the table and transaction counters and the WAL position.
func (pr *benchPGProbe) read(ctx context.Context) (benchPGCounters, error) {
	// Forget a cached statistics snapshot; flush this session's own
	// counters first where allowed (PostgreSQL 15+, superuser).
	_, _ = pr.db.ExecContext(ctx, "SELECT pg_stat_force_next_flush()")
	if _, err := pr.db.ExecContext(ctx, "SELECT pg_stat_clear_snapshot()"); err != nil {
		return benchPGCounters{}, fmt.Errorf("bench: postgres stats: %w", err)
	}
	c := benchPGCounters{wal: -1}
	q := `SELECT COALESCE(sum(n_tup_ins), 0)::bigint, COALESCE(sum(n_tup_upd), 0)::bigint, COALESCE(sum(n_tup_del), 0)::bigint,
		(SELECT xact_commit FROM pg_stat_database WHERE datname = current_database())
		FROM pg_stat_user_tables WHERE schemaname = ANY(string_to_array($1, ','))`
	if err := pr.db.QueryRowContext(ctx, q, strings.Join(pr.schemas, ",")).Scan(&c.ins, &c.upd, &c.del, &c.commits); err != nil {
		return benchPGCounters{}, fmt.Errorf("bench: postgres stats: %w", err)
	}
	// Not on a standby, nor where the function is not granted.
	var wal int64
	if err := pr.db.QueryRowContext(ctx, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint").Scan(&wal); err == nil {
		c.wal = wal
	}
	if pr.stmts {
		var err error
		if c.stmts, err = pr.readStatements(ctx); err != nil {
			return benchPGCounters{}, err
		}
	}
	return c, nil
}

// readCPU adds the CPU time of the wallets' sessions and of the server's
// background processes to c, if the server is local.
func (pr *benchPGProbe) readCPU(ctx context.Context, c *benchPGCounters) error {
	if pr.btime == 0 {
		return nil
	}
	rows, err := pr.db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity
		WHERE application_name = $1 OR COALESCE(backend_type, '') NOT IN ('', 'client backend')`, pr.app)
	if err != nil {
		return fmt.Errorf("bench: postgres stats: %w", err)
	}
	defer rows.Close()
	c.cpu = map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			return fmt.Errorf("bench: postgres stats: %w", err)
		}
		if comm, cpu, _, ok := benchProcStat(pid); ok && comm == "postgres" {
			c.cpu[pid] = cpu
		}
	}
	return rows.Err()
}

// sessions counts the wallets' sessions the server still has.
func (pr *benchPGProbe) sessions(ctx context.Context) (int, error) {
	var n int
	err := pr.db.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", pr.app).Scan(&n)
	return n, err
}

// settled waits until the wallets' sessions are gone (their backends have
// published their counters as they exited) and returns the counters, read
// until two readings agree (PostgreSQL 14 and older publish through the
// collector, a little later).
func (pr *benchPGProbe) settled(ctx context.Context) (benchPGCounters, error) {
	deadline := time.Now().Add(15 * time.Second)
	for {
		n, err := pr.sessions(ctx)
		if err != nil {
			return benchPGCounters{}, fmt.Errorf("bench: postgres stats: %w", err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			return benchPGCounters{}, fmt.Errorf("bench: postgres stats: %d sessions of %s still open after 15 s", n, pr.app)
		}
		time.Sleep(20 * time.Millisecond)
	}
	prev, err := pr.read(ctx)
	for i := 0; err == nil && i < 20; i++ {
		time.Sleep(100 * time.Millisecond)
		var c benchPGCounters
		if c, err = pr.read(ctx); err == nil && c.ins == prev.ins && c.upd == prev.upd && c.del == prev.del {
			return c, nil
		}
		prev = c
	}
	return prev, err
}

// benchPGOpener opens the wallets' stores on the PostgreSQL of url in the
// schemas <search_path>_a and _b (as openPostgresStore does), their
// sessions named app; with reset, the schemas are emptied first.
func benchPGOpener(url, app string, reset bool) benchStoreOpener {
	return func(ctx context.Context, name string) (ports.Store, func(), error) {
		u, base, err := splitSearchPath(url, "nitrowallet_bench")
		if err != nil {
			return nil, nil, err
		}
		au, err := benchPGAppURL(u, app)
		if err != nil {
			return nil, nil, err
		}
		s, err := postgres.Open(ctx, au, postgres.Options{Schema: benchPGSchema(base, name), Reset: reset, LockWait: 10 * time.Second})
		if err != nil {
			return nil, nil, err
		}
		return s, func() { _ = s.Close() }, nil
	}
}

// benchPGAppURL is the URL u with its sessions named app
// (application_name), by which the probe finds their backends.
func benchPGAppURL(u, app string) (string, error) {
	pu, err := neturl.Parse(u)
	if err != nil {
		return "", fmt.Errorf("store URL: %w", errors.Unwrap(err))
	}
	q := pu.Query()
	q.Set("application_name", app)
	pu.RawQuery = q.Encode()
	return pu.String(), nil
}

func benchPGSchema(base, wallet string) string { return strings.ToLower(base + "_" + wallet) }

// benchMeasurePG measures a row on two wallets on the PostgreSQL of url,
// with the server's counters: setup prepares a fresh pair (schemas
// emptied; its channels are not measured), the pair is reopened on the
// same stores, and work's workload on it is measured as benchMeasure does.
func benchMeasurePG(ctx context.Context, o benchOptions, url string, setup func(*benchPair) error,
	work func(*benchPair) benchWorkload, ceiling benchWorkload) (rows, ceils []benchSample, st *benchPGStats, err error) {
	_, base, err := splitSearchPath(url, "nitrowallet_bench")
	if err != nil {
		return nil, nil, nil, err
	}
	app := benchPGAppName()
	chain := newBenchMemoryChain()
	var first *benchPair
	prepare := func() error {
		var err error
		if first, err = newBenchPairOn(ctx, chain, benchPGOpener(url, app, true)); err != nil {
			return err
		}
		err = setup(first)
		first.close()
		return err
	}
	start := func() (benchWorkload, func(), error) {
		p, err := newBenchPairOn(ctx, chain, benchPGOpener(url, app, false))
		if err != nil {
			return nil, nil, err
		}
		p.appDef, p.funding = first.appDef, first.funding
		first.turns.Range(func(k, v any) bool { p.turns.Store(k, v); return true })
		return work(p), p.close, nil
	}
	return benchMeasurePGRun(ctx, o, url, []string{benchPGSchema(base, "A"), benchPGSchema(base, "B")}, app, prepare, start, ceiling)
}

// benchPGAppName is a fresh application_name for a row's sessions.
func benchPGAppName() string {
	return fmt.Sprintf("nitrowallet-bench-%d-%d", os.Getpid(), time.Now().UnixNano())
}

// benchMeasurePGRun measures a workload on sessions named app of the
// PostgreSQL of url, with the server's counters for the tables of
// schemas: prepare sets up what the workload needs (its sessions closed
// when it returns), start opens the measured sessions and returns the
// workload and how to close them, which must be safe to call twice (it is
// called before the second reading, and again on the way out).
func benchMeasurePGRun(ctx context.Context, o benchOptions, url string, schemas []string, app string,
	prepare func() error, start func() (benchWorkload, func(), error), ceiling benchWorkload) (rows, ceils []benchSample, st *benchPGStats, err error) {
	pr, err := newBenchPGProbe(ctx, url, schemas, app)
	if err != nil {
		return nil, nil, nil, err
	}
	defer pr.close()
	if err := prepare(); err != nil {
		return nil, nil, nil, err
	}
	c0, err := pr.settled(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	w, closeSessions, err := start()
	if err != nil {
		return nil, nil, nil, err
	}
	defer closeSessions()
	if err := pr.readCPU(ctx, &c0); err != nil {
		return nil, nil, nil, err
	}
	var ops atomic.Int64
	rows, ceils, err = benchMeasure(ctx, o, benchCounted(w, &ops), ceiling)
	if err != nil {
		return nil, nil, nil, err
	}
	var cpu1 benchPGCounters
	if err := pr.readCPU(ctx, &cpu1); err != nil {
		return nil, nil, nil, err
	}
	closeSessions()
	c1, err := pr.settled(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	st = &benchPGStats{ops: ops.Load(), ins: c1.ins - c0.ins, upd: c1.upd - c0.upd, del: c1.del - c0.del,
		commits: c1.commits - c0.commits, wal: -1, stmts: benchStatementDeltas(c0.stmts, c1.stmts), stmtsOK: c1.stmts != nil}
	if c0.wal >= 0 && c1.wal >= 0 {
		st.wal = c1.wal - c0.wal
	}
	if c0.cpu != nil && cpu1.cpu != nil {
		st.cpuOK = true
		for pid, t := range cpu1.cpu {
			st.cpu += t - c0.cpu[pid] // a process started since counts whole
		}
	}
	return rows, ceils, st, nil
}

// benchCounted is w, adding the operations of each of its runs to n.
func benchCounted(w benchWorkload, n *atomic.Int64) benchWorkload {
	return func(stop *atomic.Bool, rec *benchRecorder) error {
		err := w(stop, rec)
		rec.mu.Lock()
		for _, l := range rec.lats {
			n.Add(int64(len(l)))
		}
		rec.mu.Unlock()
		return err
	}
}

// benchPrintPGTable prints, below the main table, the server's work per
// operation for each row that has it.
func benchPrintPGTable(out io.Writer, rows []benchRow) {
	head := []string{"PostgreSQL per operation", "ops counted", "rows written", "ins / upd / del", "WAL", "commits", "server CPU", "+ this process's CPU"}
	cells := [][]string{head}
	for _, r := range rows {
		s := r.pg
		if s == nil || s.ops == 0 {
			continue
		}
		n := float64(s.ops)
		c := []string{r.name, benchFmtCount(s.ops), benchFmtNum(float64(s.rows()) / n),
			fmt.Sprintf("%s / %s / %s", benchFmtNum(float64(s.ins)/n), benchFmtNum(float64(s.upd)/n), benchFmtNum(float64(s.del)/n)),
			"", benchFmtNum(float64(s.commits) / n), "", ""}
		if s.wal >= 0 {
			c[4] = benchFmtNum(float64(s.wal)/n) + " B"
		}
		if s.cpuOK {
			c[6] = benchFmtDur(s.cpu / time.Duration(s.ops))
			if r.cpuOp > 0 {
				c[7] = benchFmtDur(s.cpu/time.Duration(s.ops) + r.cpuOp)
			}
		}
		cells = append(cells, c)
	}
	if len(cells) == 1 {
		return
	}
	fmt.Fprintln(out)
	benchPrintCells(out, cells, map[int]bool{0: true})
}

// benchFmtCount formats a count, with thousands separators.
func benchFmtCount(n int64) string {
	if n < 1000 {
		return strconv.FormatInt(n, 10)
	}
	return benchFmtNum(float64(n))
}

// benchPrintCells prints a Markdown table padded for a terminal: the
// columns in left flush left, the others right.
func benchPrintCells(out io.Writer, cells [][]string, left map[int]bool) {
	width := make([]int, len(cells[0]))
	for _, c := range cells {
		for i, s := range c {
			width[i] = max(width[i], len([]rune(s)))
		}
	}
	for k, c := range cells {
		var b strings.Builder
		for i, s := range c {
			pad := strings.Repeat(" ", width[i]-len([]rune(s)))
			if left[i] {
				b.WriteString("| " + s + pad + " ")
			} else {
				b.WriteString("| " + pad + s + " ")
			}
		}
		fmt.Fprintln(out, b.String()+"|")
		if k == 0 {
			b.Reset()
			for i := range c {
				if left[i] {
					b.WriteString("|" + strings.Repeat("-", width[i]+2))
				} else {
					b.WriteString("|" + strings.Repeat("-", width[i]+1) + ":")
				}
			}
			fmt.Fprintln(out, b.String()+"|")
		}
	}
}

// benchUpdatesStats is benchUpdates (channels with app a, or none), with
// the server's work per update when the store is PostgreSQL (nil
// otherwise).
func benchUpdatesStats(ctx context.Context, o benchOptions, store string, n int, a *benchApp, ceiling benchWorkload) (rows, ceils []benchSample, st *benchPGStats, err error) {
	if !isPostgresURL(store) {
		rows, ceils, err = benchUpdates(ctx, o, store, n, a, ceiling)
		return rows, ceils, nil, err
	}
	var ids []nitro.Bytes32
	return benchMeasurePG(ctx, o, store,
		func(p *benchPair) error {
			if a != nil {
				if err := p.useApp(ctx, *a); err != nil {
					return err
				}
			}
			ids, err = p.open(n)
			return err
		},
		func(p *benchPair) benchWorkload { return p.updatesWorkload(ids, o.workers, o.yield) }, ceiling)
}
