package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/lib/pq"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
	"github.com/nitrowallet/nitrowallet/ports"
)

// TestBadRequestFailsAlone: a batch where one request's data is refused by
// PostgreSQL is retried request by request, so only that one fails.
func TestBadRequestFailsAlone(t *testing.T) {
	url, schema := pgtest.Schema(t, "nwstore")
	s, err := Open(context.Background(), url, Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	var batch []*request
	for i := byte(1); i <= 3; i++ {
		c := core.Channel{ID: nitro.Bytes32{i}, MyLastTurn: -1}
		req, err := s.prepare(ctx, []ports.Change{{Channel: c, Effects: []core.Effect{core.Watch{ChannelID: c.ID}}}})
		if err != nil {
			t.Fatal(err)
		}
		req.resp = make(chan result, 1)
		batch = append(batch, req)
	}
	batch[1].channels[0].turn = -1 // refused by the table's check constraint
	s.run(batch)
	for i, r := range batch {
		res := <-r.resp
		var pe *pq.Error
		switch {
		case i == 1 && !errors.As(res.err, &pe):
			t.Fatalf("bad request: %v, want a PostgreSQL error", res.err)
		case i != 1 && (res.err != nil || len(res.ids) != 1):
			t.Fatalf("good request %d: %v, %d ids", i, res.err, len(res.ids))
		}
	}
	if _, err := s.Get(ctx, nitro.Bytes32{2}); !errors.Is(err, ports.ErrNotFound) {
		t.Fatalf("bad request's channel: %v, want not found", err)
	}
	if p, err := s.Pending(ctx); err != nil || len(p) != 2 {
		t.Fatalf("Pending: %d entries, %v; want the 2 good ones", len(p), err)
	}
}
