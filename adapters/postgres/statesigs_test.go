package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
	"github.com/nitrowallet/nitrowallet/ports"
	"github.com/nitrowallet/nitrowallet/ports/storetest"
)

// TestSignaturesKeptWithTheirState: a state committed with its signatures
// is one row that holds them (no signature rows); a signature that comes
// after its state was stored gets a row of its own; Signatures returns
// every signature once, also after a store that lost its cache of what
// it wrote commits the channel again.
func TestSignaturesKeptWithTheirState(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var full core.Channel
	for _, sn := range storetest.Corpus() {
		if l, ok := sn.Channel.Latest(); ok && l.SignedByAll() && len(sn.Channel.States) > 1 && len(sn.Channel.Held) == 0 {
			full = sn.Channel
			break
		}
	}
	if full.ID == (nitro.Bytes32{}) {
		t.Fatal("no corpus channel with a latest state signed by all")
	}
	want := 0
	for _, st := range full.States {
		for _, sg := range st.Sigs {
			if sg.V != 0 {
				want++
			}
		}
	}
	// First the channel without the latest state's last signature.
	part := full.Clone()
	last := &part.States[len(part.States)-1]
	last.Sigs[len(last.Sigs)-1] = nitro.Signature{}

	db := pgtest.Open(t)
	s := openFresh(ctx, t, "")
	q := pq.QuoteIdentifier(s.Schema())
	count := func(table string) int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM "+q+"."+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	check := func(when string, sigRows int) {
		t.Helper()
		if n := count("signatures"); n != sigRows {
			t.Errorf("%s: %d signature rows, want %d", when, n, sigRows)
		}
		if n := count("states"); n != len(full.States) {
			t.Errorf("%s: %d state rows, want %d", when, n, len(full.States))
		}
	}
	if _, err := s.Commit(ctx, []ports.Change{{Channel: part}}); err != nil {
		t.Fatal(err)
	}
	check("state and signatures in one commit", 0)
	if _, err := s.Commit(ctx, []ports.Change{{Channel: full}}); err != nil {
		t.Fatal(err)
	}
	check("a countersignature of a stored state", 1)
	sigs, err := s.Signatures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != want {
		t.Fatalf("Signatures: %d, want %d", len(sigs), want)
	}
	schema := s.Schema()
	s.Close()
	s2 := openFresh(ctx, t, schema)
	defer s2.Close()
	if _, err := s2.Commit(ctx, []ports.Change{{Channel: full}}); err != nil {
		t.Fatal(err)
	}
	again, err := s2.Signatures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != want {
		t.Fatalf("Signatures after a commit with a cold cache: %d, want %d", len(again), want)
	}
	for i := range sigs {
		if sigs[i] != again[i] {
			t.Fatalf("signature %d changed: %+v, then %+v", i, sigs[i], again[i])
		}
	}
}
