package tslive_test

import (
	"context"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/tslive"
)

// batchSize is how many channels one batch call makes across the pair.
const batchSize = 50

// TestBatchWithTSWallet: batch calls of 50 channels across the pair, both
// ways (TS createChannels + our JoinChannels, closed by TS closeChannels;
// our CreateChannels + TS joinChannels, closed by our CloseChannels), Fake
// funding, on PostgreSQL; every channel ends closed on both sides with the
// same final state.
func TestBatchWithTSWallet(t *testing.T) {
	need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	p := newPair(t, openPostgres(t), app.Config{Protocol: nitro.Protocol0101})
	p.bare = true // every close here is on its caller's turn

	t.Run("ts-creates", func(t *testing.T) {
		p.t = t
		out, err := p.ts.CreateChannels(ctx, tslive.CreateChannelParams{
			Participants: p.tsParticipants(true), Allocations: p.tsAlloc(3, 5, true),
			AppDefinition: "0x0000000000000000000000000000000000000000", AppData: "0x00", FundingStrategy: "Fake",
		}, batchSize)
		if err != nil {
			t.Fatal(err)
		}
		ids := p.batchIDs(out.ChannelResults)
		if len(out.Outbox) != 1 {
			t.Fatalf("TS createChannels(%d) queued %d messages, want one merged", batchSize, len(out.Outbox))
		}
		p.relay(ctx, nil, out.Outbox)
		res, err := p.goW.JoinChannels(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.ChannelResults) != batchSize || len(res.Outbox) != 1 {
			t.Fatalf("our JoinChannels: %d results and %d messages, want %d and 1", len(res.ChannelResults), len(res.Outbox), batchSize)
		}
		p.relay(ctx, res.Outbox, nil)
		p.allAt(ctx, ids, "running", 3)
		// Turn 4 is the TS wallet's (participant 0): it closes on its turn.
		out, err = p.ts.CloseChannels(ctx, hexIDs(ids))
		if err != nil {
			t.Fatal(err)
		}
		p.relay(ctx, nil, out.Outbox)
		p.allAt(ctx, ids, "closed", 4)
	})

	t.Run("go-creates", func(t *testing.T) {
		p.t = t
		res, err := p.goW.CreateChannels(ctx, app.CreateChannelParams{
			Participants: p.goParticipants(false), Allocations: p.goAlloc(6, 2, false),
			FundingStrategy: "Fake", AppData: []byte{0},
		}, batchSize)
		if err != nil {
			t.Fatal(err)
		}
		ids := make([]nitro.Bytes32, len(res.ChannelResults))
		for i, c := range res.ChannelResults {
			ids[i] = c.ChannelID
		}
		if len(ids) != batchSize || len(res.Outbox) != 1 {
			t.Fatalf("our CreateChannels: %d channels and %d messages, want %d and 1", len(ids), len(res.Outbox), batchSize)
		}
		p.relay(ctx, res.Outbox, nil)
		out, err := p.ts.JoinChannels(ctx, hexIDs(ids))
		if err != nil {
			t.Fatal(err)
		}
		p.relay(ctx, nil, out.Outbox)
		p.allAt(ctx, ids, "running", 3)
		res, err = p.goW.CloseChannels(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Outbox) != 1 {
			t.Fatalf("our CloseChannels queued %d messages, want one merged", len(res.Outbox))
		}
		p.relay(ctx, res.Outbox, nil)
		p.allAt(ctx, ids, "closed", 4)
	})
}

func (p *pair) batchIDs(rs []tslive.ChannelResult) []nitro.Bytes32 {
	p.t.Helper()
	if len(rs) != batchSize {
		p.t.Fatalf("%d channel results, want %d", len(rs), batchSize)
	}
	ids := make([]nitro.Bytes32, len(rs))
	seen := map[nitro.Bytes32]bool{}
	for i, c := range rs {
		ids[i] = common32(c.ChannelID)
		if seen[ids[i]] {
			p.t.Fatalf("channel %s twice in the batch", ids[i])
		}
		seen[ids[i]] = true
	}
	return ids
}

func hexIDs(ids []nitro.Bytes32) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.Hex()
	}
	return out
}

// allAt fails unless every channel is status at turn on both sides, with
// the same newest state and signatures.
func (p *pair) allAt(ctx context.Context, ids []nitro.Bytes32, status string, turn uint64) {
	p.t.Helper()
	for _, id := range ids {
		p.observe(ctx, nil, id, status, turn)
		p.agree(ctx, id, turn)
	}
}
