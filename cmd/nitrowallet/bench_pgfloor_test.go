package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/internal/pgtest"
)

// checkFloorRow checks the floor row's figures: every operation is one
// durable commit that updated one row of the floor's table and nothing
// else there.
func checkFloorRow(t *testing.T, r benchRow) {
	t.Helper()
	if r.value <= 0 || r.unit != "commits/s" || r.p50 <= 0 || r.p99 < r.p50 || r.cpuOp <= 0 {
		t.Fatalf("implausible floor row: %+v", r)
	}
	st := r.pg
	if st == nil || st.ops == 0 {
		t.Fatalf("no PostgreSQL figures: %+v", st)
	}
	t.Logf("%.0f commits/s, p50 %v; %d ops: %d/%d/%d rows inserted/updated/deleted, %d commits, %d B of WAL, server CPU %v",
		r.value, r.p50, st.ops, st.ins, st.upd, st.del, st.commits, st.wal, st.cpu)
	if st.upd != st.ops || st.ins != 0 || st.del != 0 {
		t.Errorf("%d operations updated %d rows (inserted %d, deleted %d), want one update each", st.ops, st.upd, st.ins, st.del)
	}
	if st.commits < st.ops || st.wal <= 0 {
		t.Errorf("%d operations: %d commits, %d B of WAL", st.ops, st.commits, st.wal)
	}
}

// TestBenchFloorRow runs the floor row on the test server.
func TestBenchFloorRow(t *testing.T) {
	r, err := benchFloorRow(context.Background(), benchTestOptions, benchTestURL(t))
	if err != nil {
		t.Fatal(err)
	}
	checkFloorRow(t, r)
}

// TestBenchStatementsOfFloorRow runs the floor row on a cluster with
// pg_stat_statements loaded: the row's statements are read, its UPDATE
// ran once per operation and updated one row each time, the probe's own
// queries are left out, and the table prints them.
func TestBenchStatementsOfFloorRow(t *testing.T) {
	c := pgtest.StartClusterWith(t, "shared_preload_libraries=pg_stat_statements")
	r, err := benchFloorRow(context.Background(), benchTestOptions, c.URL())
	if err != nil {
		t.Fatal(err)
	}
	checkFloorRow(t, r)
	st := r.pg
	if !st.stmtsOK || len(st.stmts) == 0 {
		t.Fatalf("no statements read: ok %v, %d statements", st.stmtsOK, len(st.stmts))
	}
	var update *benchStmtDelta
	for i, d := range st.stmts {
		t.Logf("%q: %d calls, %d rows, %v + %v", d.label, d.calls, d.rows, d.exec, d.plan)
		if benchProbeQuery(d.label) {
			t.Errorf("the probe's query %q is counted", d.label)
		}
		if strings.HasPrefix(d.label, `UPDATE "`) && strings.Contains(d.label, ".counter SET n = n +") {
			update = &st.stmts[i]
		}
	}
	if update == nil {
		t.Fatal("the floor's UPDATE is not among the statements")
	}
	if update.calls != st.ops || update.rows != st.ops || update.exec <= 0 {
		t.Errorf("the UPDATE: %d calls, %d rows, %v executing, for %d operations", update.calls, update.rows, update.exec, st.ops)
	}
	var out bytes.Buffer
	benchPrintPGStatements(&out, []benchRow{r})
	t.Log("\n" + out.String())
	for _, want := range []string{"pg_stat_statements", benchFloorName, ".counter SET n = n +", "| 1.00 |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the statements table has no %q", want)
		}
	}
}

// TestBenchStatementDeltas groups statements by label, counts new
// entries whole, skips the probe's queries and entries that ran no more
// (or were evicted and counted anew), and puts the most time first.
func TestBenchStatementDeltas(t *testing.T) {
	commit := "WITH owner AS (SELECT owner\n\tFROM wallet WHERE id = $1 FOR SHARE), ok AS (SELECT FROM owner WHERE owner = $2) SELECT 1"
	before := map[benchStmtKey]benchStmt{
		{1, 10}: {query: commit, calls: 5, rows: 5, exec: 1, plan: 0.5},
		{1, 11}: {query: "SELECT data FROM channels WHERE id = $1", calls: 3, rows: 3, exec: 0.3},
		{1, 12}: {query: "SELECT pg_stat_clear_snapshot()", calls: 1, exec: 0.1},
		{1, 13}: {query: "SELECT 1", calls: 100, rows: 100, exec: 9},
	}
	after := map[benchStmtKey]benchStmt{
		{1, 10}: {query: commit, calls: 9, rows: 9, exec: 3, plan: 0.5},                           // the A schema's commit
		{1, 20}: {query: commit, calls: 4, rows: 4, exec: 2.5, plan: 0.25},                        // the B schema's: new
		{1, 11}: {query: "SELECT data FROM channels WHERE id = $1", calls: 3, rows: 3, exec: 0.3}, // not run
		{1, 12}: {query: "SELECT pg_stat_clear_snapshot()", calls: 4, exec: 0.4},                  // the probe's
		{1, 13}: {query: "SELECT 1", calls: 2, rows: 2, exec: 0.2},                                // evicted, anew
		{1, 14}: {query: "SELECT id FROM outbox | x", calls: 1, rows: 7, exec: 5},
	}
	got := benchStatementDeltas(before, after)
	if len(got) != 2 {
		t.Fatalf("%d labels, want 2: %+v", len(got), got)
	}
	if got[0].label != `SELECT id FROM outbox \| x` || got[0].calls != 1 || got[0].rows != 7 || got[0].exec != 5*time.Millisecond {
		t.Errorf("first: %+v", got[0])
	}
	c := got[1]
	if !strings.HasPrefix(c.label, "WITH owner AS (SELECT owner FROM wallet WHERE id = $1 FOR SHARE") || len([]rune(c.label)) != benchStmtLabelLen ||
		!strings.HasSuffix(c.label, "…") {
		t.Errorf("label %q (%d characters)", c.label, len([]rune(c.label)))
	}
	if c.calls != 8 || c.rows != 8 || c.exec != 4500*time.Microsecond || c.plan != 250*time.Microsecond {
		t.Errorf("the commit statement: %+v, want 8 calls and rows, 4.5 ms executing, 0.25 ms planning", c)
	}
	if benchStatementDeltas(nil, after) != nil || benchStatementDeltas(before, nil) != nil {
		t.Error("deltas without both readings")
	}
}
