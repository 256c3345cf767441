package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// The statements the PostgreSQL server ran for a row, from
// pg_stat_statements when the server has it loaded
// (shared_preload_libraries; `make bench-pg-profile` starts a throwaway
// cluster that does): calls, execution and planning time and rows per
// operation of each statement, the wallets' sessions' and any other
// client's of the database, the probe's own queries left out. A
// statement's text is the first the server saw of it; statements equal
// but for the schema they ran in (the two wallets') count together.

// benchStmt is one pg_stat_statements entry, as read.
type benchStmt struct {
	query      string
	calls      int64
	rows       int64
	exec, plan float64 // milliseconds
}

// benchStmtKey names a pg_stat_statements entry in one database.
type benchStmtKey struct{ user, query int64 }

// benchStmtDelta is what the statements of one label did between two
// readings.
type benchStmtDelta struct {
	label      string
	calls      int64
	rows       int64
	exec, plan time.Duration
}

func (d benchStmtDelta) time() time.Duration { return d.exec + d.plan }

// enableStatements reports whether pg_stat_statements can be read in the
// probe's database, creating the extension there if the server has the
// library loaded and it is missing.
func (pr *benchPGProbe) enableStatements(ctx context.Context) bool {
	var loaded bool
	if err := pr.db.QueryRowContext(ctx, `SELECT 'pg_stat_statements' = ANY(string_to_array(
		replace(current_setting('shared_preload_libraries'), ' ', ''), ','))`).Scan(&loaded); err != nil || !loaded {
		return false
	}
	_, _ = pr.db.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
	_, err := pr.readStatements(ctx)
	return err == nil
}

// readStatements reads the pg_stat_statements entries of the probe's
// database.
func (pr *benchPGProbe) readStatements(ctx context.Context) (map[benchStmtKey]benchStmt, error) {
	rows, err := pr.db.QueryContext(ctx, `SELECT userid::bigint, queryid, query, calls, rows, total_exec_time, total_plan_time
		FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND queryid IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("bench: pg_stat_statements: %w", err)
	}
	defer rows.Close()
	out := map[benchStmtKey]benchStmt{}
	for rows.Next() {
		var k benchStmtKey
		var s benchStmt
		if err := rows.Scan(&k.user, &k.query, &s.query, &s.calls, &s.rows, &s.exec, &s.plan); err != nil {
			return nil, fmt.Errorf("bench: pg_stat_statements: %w", err)
		}
		out[k] = s
	}
	return out, rows.Err()
}

// benchStatementDeltas is what each statement label did from the reading
// before to the one after (an entry new since counts whole), the most
// time first; nil when either reading is missing.
func benchStatementDeltas(before, after map[benchStmtKey]benchStmt) []benchStmtDelta {
	if before == nil || after == nil {
		return nil
	}
	byLabel := map[string]*benchStmtDelta{}
	for k, s1 := range after {
		s0 := before[k]
		if s1.calls <= s0.calls || benchProbeQuery(s1.query) {
			continue // also an entry evicted and counted anew: not comparable
		}
		l := benchStmtLabel(s1.query)
		d := byLabel[l]
		if d == nil {
			d = &benchStmtDelta{label: l}
			byLabel[l] = d
		}
		d.calls += s1.calls - s0.calls
		d.rows += s1.rows - s0.rows
		d.exec += benchMillis(s1.exec - s0.exec)
		d.plan += benchMillis(s1.plan - s0.plan)
	}
	out := make([]benchStmtDelta, 0, len(byLabel))
	for _, d := range byLabel {
		out = append(out, *d)
	}
	slices.SortFunc(out, func(x, y benchStmtDelta) int {
		if c := cmp.Compare(y.time(), x.time()); c != 0 {
			return c
		}
		return strings.Compare(x.label, y.label)
	})
	return out
}

func benchMillis(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// benchProbeQuery reports the probe's own queries (it reads the
// statistics views and the WAL position).
func benchProbeQuery(q string) bool {
	return strings.Contains(q, "pg_stat_") || strings.Contains(q, "pg_wal_lsn_diff") ||
		strings.Contains(q, "shared_preload_libraries")
}

// benchStmtLabelLen bounds a statement's label.
const benchStmtLabelLen = 64

// benchStmtLabel is a statement's text with its white space collapsed, cut
// to benchStmtLabelLen characters, fit for a Markdown cell.
func benchStmtLabel(q string) string {
	l := strings.Join(strings.Fields(q), " ")
	if r := []rune(l); len(r) > benchStmtLabelLen {
		l = string(r[:benchStmtLabelLen-1]) + "…"
	}
	return strings.ReplaceAll(l, "|", `\|`)
}

// benchStmtsShown is how many statements the table shows per row.
const benchStmtsShown = 4

// benchPrintPGStatements prints, below the server's table, the
// statements of each row that has them: the benchStmtsShown that took the
// most time, then all of them together.
func benchPrintPGStatements(out io.Writer, rows []benchRow) {
	head := []string{"PostgreSQL statements per operation (pg_stat_statements)", "statement", "calls", "rows", "execution", "planning"}
	cells := [][]string{head}
	for _, r := range rows {
		s := r.pg
		if s == nil || !s.stmtsOK || s.ops == 0 {
			continue
		}
		n := float64(s.ops)
		per := func(d time.Duration) string {
			if d <= 0 {
				return "0"
			}
			return benchFmtDur(time.Duration(float64(d) / n))
		}
		var all benchStmtDelta
		for i, d := range s.stmts {
			all.calls, all.rows, all.exec, all.plan = all.calls+d.calls, all.rows+d.rows, all.exec+d.exec, all.plan+d.plan
			if i < benchStmtsShown {
				cells = append(cells, []string{r.name, "`" + d.label + "`", benchFmtNum(float64(d.calls) / n),
					benchFmtNum(float64(d.rows) / n), per(d.exec), per(d.plan)})
			}
		}
		cells = append(cells, []string{r.name, fmt.Sprintf("all %d statements", len(s.stmts)),
			benchFmtNum(float64(all.calls) / n), benchFmtNum(float64(all.rows) / n), per(all.exec), per(all.plan)})
	}
	if len(cells) == 1 {
		return
	}
	fmt.Fprintln(out)
	benchPrintCells(out, cells, map[int]bool{0: true, 1: true})
}
