package main

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/lib/pq"
)

// The floor of the durable rows: a one-row UPDATE committed on its own
// (synchronous_commit on), one after the other on one session, over the
// same database/sql and lib/pq the store uses. It is what the disk's
// flush, a round trip and the server's commit path allow a client that
// waits for each commit: a durable row that commits c times in series per
// operation cannot beat this row's rate divided by c.

// benchSerialCommits is how many durable commits an update makes one
// after the other: the mover's (its signed state and the message) and the
// receiver's (the state, and its countersignature when the channel has no
// app: with two participants it goes to no one). Other commits (Done marks
// flushed on their own) run beside them. The ping-pong row's bound divides
// the floor by this, or by the row's commits per update if fewer.
const benchSerialCommits = 2.0

// benchFloorName names the floor row.
const benchFloorName = "postgres: floor: a one-row UPDATE committed on its own, serial"

// benchFloorRow measures the floor row on the PostgreSQL of url, in the
// schema <search_path>_floor (emptied first), with the server's work per
// commit.
func benchFloorRow(ctx context.Context, o benchOptions, url string) (benchRow, error) {
	u, base, err := splitSearchPath(url, "nitrowallet_bench")
	if err != nil {
		return benchRow{}, err
	}
	schema := benchPGSchema(base, "floor")
	table := pq.QuoteIdentifier(schema) + ".counter"
	app := benchPGAppName()
	open := func() (*sql.DB, error) {
		au, err := benchPGAppURL(u, app)
		if err != nil {
			return nil, err
		}
		db, err := sql.Open("postgres", au)
		if err != nil {
			return nil, err
		}
		db.SetMaxOpenConns(1)
		return db, nil
	}
	prepare := func() error {
		db, err := open()
		if err != nil {
			return err
		}
		defer db.Close()
		for _, q := range []string{
			"DROP SCHEMA IF EXISTS " + pq.QuoteIdentifier(schema) + " CASCADE",
			"CREATE SCHEMA " + pq.QuoteIdentifier(schema),
			"CREATE TABLE " + table + " (id int PRIMARY KEY, n bigint NOT NULL)",
			"INSERT INTO " + table + " VALUES (1, 0)",
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("bench floor: %w", err)
			}
		}
		return nil
	}
	start := func() (benchWorkload, func(), error) {
		db, err := open()
		if err != nil {
			return nil, nil, err
		}
		stmt, err := db.PrepareContext(ctx, "UPDATE "+table+" SET n = n + 1 WHERE id = 1")
		if err != nil {
			_ = db.Close()
			return nil, nil, fmt.Errorf("bench floor: %w", err)
		}
		var once sync.Once
		closeDB := func() { once.Do(func() { _ = stmt.Close(); _ = db.Close() }) }
		w := benchLoops(1, false, func(int) func(int) error {
			return func(int) error {
				r, err := stmt.ExecContext(ctx)
				if err != nil {
					return fmt.Errorf("bench floor: %w", err)
				}
				if n, err := r.RowsAffected(); err != nil || n != 1 {
					return fmt.Errorf("bench floor: updated %d rows (%v), want 1", n, err)
				}
				return nil
			}
		}, nil)
		return w, closeDB, nil
	}
	ss, _, st, err := benchMeasurePGRun(ctx, o, url, []string{schema}, app, prepare, start, nil)
	if err != nil {
		return benchRow{}, fmt.Errorf("bench postgres, floor: %w", err)
	}
	r := benchSummarize(benchFloorName, "commits/s", ss, nil)
	r.note, r.pg = "no wallet: the disk, a round trip and a commit", st
	return r, nil
}
