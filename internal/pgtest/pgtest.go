// Package pgtest gives tests a PostgreSQL to run against: the server named
// by NITROWALLET_TEST_DATABASE_URL, else the one on 127.0.0.1:5432 (user
// postgres, database test, trust auth). Each test gets its own schema,
// dropped when it ends, so runs never collide. A database that does not
// answer fails the test with a message saying what to do; it never skips.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"
)

// EnvURL names the environment variable that points tests at a database.
const EnvURL = "NITROWALLET_TEST_DATABASE_URL"

// DefaultURL is the database tests use when EnvURL is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// URL returns the test database's URL.
func URL() string {
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	return DefaultURL
}

// Open connects to the test database, failing t with instructions if it
// does not answer. The connection is closed when t ends.
func Open(t testing.TB) *sql.DB {
	t.Helper()
	db := connect(t)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// connect connects to the test database, failing t with instructions if it
// does not answer; the caller closes it.
func connect(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", URL())
	if err != nil {
		t.Fatalf("pgtest: %s: %v", URL(), err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		t.Fatalf("pgtest: PostgreSQL does not answer at %s: %v\n"+
			"These tests need PostgreSQL. Run them with `make test`, which uses %s if set, else the server on "+
			"127.0.0.1:5432, else starts a throwaway cluster when PostgreSQL's binaries are installed "+
			"(Debian: apt-get install postgresql); or set %s to a database URL.", URL(), err, EnvURL, EnvURL)
	}
	return db
}

// Schema creates a schema with a random name for t (prefix_xxxxxxxx) and
// drops it, with everything in it, when t ends. It returns the database URL
// and the schema name.
func Schema(t testing.TB, prefix string) (url, schema string) {
	t.Helper()
	db := connect(t)
	defer db.Close()
	var b [5]byte
	_, _ = rand.Read(b[:])
	schema = fmt.Sprintf("%s_%s", prefix, hex.EncodeToString(b[:]))
	if _, err := db.Exec("CREATE SCHEMA " + pq.QuoteIdentifier(schema)); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() { Drop(t, schema) })
	return URL(), schema
}

// Drop drops a schema and everything in it, if it exists.
func Drop(t testing.TB, schema string) {
	t.Helper()
	db, err := sql.Open("postgres", URL())
	if err != nil {
		t.Errorf("pgtest: %v", err)
		return
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "DROP SCHEMA IF EXISTS "+pq.QuoteIdentifier(schema)+" CASCADE"); err != nil {
		t.Errorf("pgtest: drop schema %s: %v", schema, err)
	}
}

// Dump returns the full content of a schema as text: every row of every
// table (each row as PostgreSQL prints the record, so bytes, JSON and
// timestamps are exact), sorted, and every sequence's state. Two dumps are
// equal exactly when the data is.
func Dump(t testing.TB, db *sql.DB, schema string) string {
	t.Helper()
	ctx := context.Background()
	var out strings.Builder
	names := func(q string) []string {
		rows, err := db.QueryContext(ctx, q, schema)
		if err != nil {
			t.Fatalf("pgtest: dump: %v", err)
		}
		defer rows.Close()
		var ns []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatalf("pgtest: dump: %v", err)
			}
			ns = append(ns, n)
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("pgtest: dump: %v", err)
		}
		return ns
	}
	q := pq.QuoteIdentifier(schema) + "."
	for _, table := range names(`SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE' ORDER BY 1`) {
		var rows sql.NullString
		if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT string_agg(r::text, E'\n' ORDER BY r::text) FROM %s%s r`, q, pq.QuoteIdentifier(table))).Scan(&rows); err != nil {
			t.Fatalf("pgtest: dump %s: %v", table, err)
		}
		fmt.Fprintf(&out, "== table %s\n%s\n", table, rows.String)
	}
	for _, seq := range names(`SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = $1 ORDER BY 1`) {
		var last int64
		var called bool
		if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT last_value, is_called FROM %s%s`, q, pq.QuoteIdentifier(seq))).Scan(&last, &called); err != nil {
			t.Fatalf("pgtest: dump %s: %v", seq, err)
		}
		fmt.Fprintf(&out, "== sequence %s: %d %v\n", seq, last, called)
	}
	return out.String()
}
