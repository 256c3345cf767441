package postgres

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
	"github.com/nitrowallet/nitrowallet/ports"
	"github.com/nitrowallet/nitrowallet/ports/storetest"
)

// rowsGoldenPath holds the bytes the store writes outside the record codec
// (TestCodecGolden pins that): the chain cursor's row and the equivocation
// evidence (a wire-format message), one row a line:
//
//	cursor <next_block> <rewinds> <block_hash hex> <recent hex>
//	equivocation <channel_id hex> <signer hex> <turn_num> <evidence hex>
//
// NITROWALLET_UPDATE_GOLDEN=1 rewrites it from what the current store
// writes: do that only for a deliberate change of the fixtures or of a
// column's format (with a migration or a reader for the old rows), and
// read the diff.
var rowsGoldenPath = filepath.Join("testdata", "rows-format2.golden")

// TestGoldenStoredRows pins those rows both ways: a fixed cursor and fixed
// equivocations written through the store read back, as raw columns, as
// the golden file's bytes; and the golden file's bytes put into a fresh
// schema read back, through the store, as the same cursor and
// equivocations (rows written by an earlier binary stay readable).
func TestGoldenStoredRows(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cursor, evs := goldenCursor(), goldenEquivocations()
	db := pgtest.Open(t)

	s := openFresh(ctx, t, "")
	if err := s.SetChainCursor(ctx, cursor); err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if err := s.RecordEquivocation(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	written := rawRows(ctx, t, db, s.Schema())
	golden := readGolden(t, rowsGoldenPath, written)
	compareGolden(t, rowsGoldenPath, golden, written)

	// The golden rows, as an earlier binary left them, read through the store.
	s2 := openFresh(ctx, t, "")
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	loadRows(ctx, t, db, s2.Schema(), golden)
	s2 = openFresh(ctx, t, s2.Schema())
	if got, err := s2.ChainCursor(ctx); err != nil || !reflect.DeepEqual(got, cursor) {
		t.Fatalf("golden cursor row reads as %+v, %v; want %+v", got, err, cursor)
	}
	got, err := s2.Equivocations(ctx)
	if err != nil {
		t.Fatalf("golden equivocation rows: %v", err)
	}
	if len(got) != len(evs) {
		t.Fatalf("golden equivocation rows read as %d records, want %d", len(got), len(evs))
	}
	for i := range evs {
		if d := storetest.Diff(evs[i], got[i]); d != "" {
			t.Fatalf("golden equivocation row %d reads as another record: %s", i, d)
		}
	}
}

// openFresh opens a store on schema, or on a new schema (dropped when t
// ends) if schema is "".
func openFresh(ctx context.Context, t *testing.T, schema string) *Store {
	t.Helper()
	if schema == "" {
		_, schema = pgtest.Schema(t, "nwgolden")
	}
	s, err := Open(ctx, pgtest.URL(), Options{Schema: schema, LockWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// goldenCursor is a cursor with every field set: block numbers beyond 32
// bits, a hash, two checkpoints, rewinds.
func goldenCursor() ports.Cursor {
	h := func(b byte) nitro.Bytes32 { return nitro.Bytes32{0xc0, b, 31: b} }
	return ports.Cursor{
		Block: 1<<40 + 7, Hash: h(7), Rewinds: 3,
		Recent: []ports.Checkpoint{{Block: 1<<40 + 5, Hash: h(5)}, {Block: 2, Hash: h(2)}},
	}
}

// goldenEquivocations builds one record for the last fully signed state of
// the corpus's two-party and of its three-party channel (seeded keys, real
// signatures): that state and a copy with other app data, both carrying its
// signatures. They come in the store's order (channel, then signer).
func goldenEquivocations() []core.EquivocationError {
	var out []core.EquivocationError
	for _, n := range []int{2, 3} {
		var last core.EquivocationError
		for _, snap := range storetest.Corpus() {
			c := snap.Channel
			l, ok := c.Latest()
			if !ok || len(c.Participants) != n || !fullySigned(l.Sigs, n) {
				continue
			}
			a, b := l.State.Clone(), l.State.Clone()
			b.AppData = append(b.AppData, 0xee)
			last = core.EquivocationError{
				ChannelID: c.ID, TurnNum: l.State.TurnNum, Signer: c.Participants[n-1].SigningAddress,
				States: [2]core.SignedState{
					{State: a, Participants: c.Participants, Signatures: l.Sigs},
					{State: b, Participants: c.Participants, Signatures: l.Sigs},
				},
			}
		}
		if last.TurnNum == 0 {
			panic(fmt.Sprintf("no fully signed running state of %d parties in the corpus", n))
		}
		out = append(out, last)
	}
	if string(out[1].ChannelID[:]) < string(out[0].ChannelID[:]) {
		out[0], out[1] = out[1], out[0]
	}
	return out
}

func fullySigned(sigs []nitro.Signature, n int) bool {
	if len(sigs) != n {
		return false
	}
	for _, s := range sigs {
		if s.V == 0 {
			return false
		}
	}
	return true
}

// rawRows reads the cursor and equivocation rows of schema as golden lines.
func rawRows(ctx context.Context, t *testing.T, db *sql.DB, schema string) []string {
	t.Helper()
	q := pq.QuoteIdentifier(schema)
	var (
		block, rewinds int64
		hash, recent   []byte
	)
	if err := db.QueryRowContext(ctx, "SELECT next_block, rewinds, block_hash, recent FROM "+q+".chain_cursor").Scan(&block, &rewinds, &hash, &recent); err != nil {
		t.Fatal(err)
	}
	out := []string{fmt.Sprintf("cursor %d %d %x %x", block, rewinds, hash, recent)}
	rows, err := db.QueryContext(ctx, "SELECT channel_id, signer, turn_num, evidence FROM "+q+".equivocations ORDER BY channel_id, signer")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id, signer, ev []byte
			turn           int64
		)
		if err := rows.Scan(&id, &signer, &turn, &ev); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("equivocation %x %x %d %x", id, signer, turn, ev))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// loadRows writes golden lines into schema's tables, as raw columns.
func loadRows(ctx context.Context, t *testing.T, db *sql.DB, schema string, lines []string) {
	t.Helper()
	q := pq.QuoteIdentifier(schema)
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatalf("golden row: %v", err)
		}
		return b
	}
	for _, line := range lines {
		f := strings.Split(line, " ") // an empty hash or recent is an empty field
		var err error
		switch {
		case len(f) == 5 && f[0] == "cursor":
			_, err = db.ExecContext(ctx, "UPDATE "+q+".chain_cursor SET next_block = $1, rewinds = $2, block_hash = $3, recent = $4",
				f[1], f[2], unhex(f[3]), unhex(f[4]))
		case len(f) == 5 && f[0] == "equivocation":
			_, err = db.ExecContext(ctx, "INSERT INTO "+q+".equivocations (channel_id, signer, turn_num, evidence) VALUES ($1, $2, $3, $4)",
				unhex(f[1]), unhex(f[2]), f[3], unhex(f[4]))
		default:
			t.Fatalf("bad golden row %.40q", line)
		}
		if err != nil {
			t.Fatalf("load golden row %.40q: %v", line, err)
		}
	}
}
