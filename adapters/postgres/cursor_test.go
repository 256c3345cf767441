package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
	"github.com/nitrowallet/nitrowallet/ports"
)

// TestBareCursorRow: a cursor row as a binary before hashes wrote it (a
// bare block number) reads as that block with no hash, which the chain
// adapters trust once; the next cursor saved replaces it.
func TestBareCursorRow(t *testing.T) {
	ctx := context.Background()
	s := open(t, postgres.Options{})
	schema := s.Schema()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db := pgtest.Open(t)
	if _, err := db.ExecContext(ctx, "UPDATE "+pq.QuoteIdentifier(schema)+".chain_cursor SET next_block = 42"); err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(ctx, pgtest.URL(), postgres.Options{Schema: schema, LockWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if c, err := s.ChainCursor(ctx); err != nil || c.Block != 42 || c.Hash != (nitro.Bytes32{}) || len(c.Recent) != 0 || c.Rewinds != 0 {
		t.Fatalf("bare row: cursor %+v, %v; want block 42 without a hash", c, err)
	}
	next := ports.Cursor{Block: 42}.Advance(43, nitro.Bytes32{43})
	if err := s.SetChainCursor(ctx, next); err != nil {
		t.Fatal(err)
	}
	if c, err := s.ChainCursor(ctx); err != nil || c.Block != 43 || c.Hash != (nitro.Bytes32{43}) || len(c.Recent) != 0 {
		t.Fatalf("after a save: cursor %+v, %v; want block 43 with its hash", c, err)
	}
}
