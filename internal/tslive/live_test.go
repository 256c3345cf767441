package tslive_test

import (
	"context"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/tslive"
)

// liveCase is one run of a channel between our wallet and the TS wallet.
type liveCase struct {
	tsCreates bool   // the TS wallet creates and ours joins, else the other way round
	funding   string // "Fake", or "Direct" with funding reported by UpdateFundingForChannels
	updates   int    // m updates in turn after the postfund
	tsCloses  bool   // the TS wallet calls closeChannel, else ours
}

func (c liveCase) String() string {
	s := "go-creates"
	if c.tsCreates {
		s = "ts-creates"
	}
	closer := "go"
	if c.tsCloses {
		closer = "ts"
	}
	return fmt.Sprintf("%s/%s/%d-updates/%s-closes", s, c.funding, c.updates, closer)
}

// TestLiveWithTSWallet runs channels between our wallet (Protocol0101, on
// the memory store and on PostgreSQL) and the TypeScript server wallet
// 1.13.1 on PostgreSQL, messages relayed between them: both directions,
// updates in turn, closed by either side. Both reach the seed's statuses
// in order and agree on every state hash and signature.
func TestLiveWithTSWallet(t *testing.T) {
	need(t)
	// The closer calls closeChannel on its own turn (the final state is
	// turn 4+m, participant 0's when m is even) or, for the TS wallet, on
	// ours: it then sends only the CloseChannel objective and our wallet
	// signs the final state. Our CloseChannel on the TS wallet's turn is
	// refused (ErrNotYourTurn, docs/api.md), so ours closes on its turn.
	cases := []liveCase{
		{tsCreates: true, funding: "Fake", updates: 3, tsCloses: false},
		{tsCreates: false, funding: "Fake", updates: 4, tsCloses: true},
		{tsCreates: true, funding: "Fake", updates: 2, tsCloses: true},
		{tsCreates: false, funding: "Fake", updates: 2, tsCloses: false},
		{tsCreates: true, funding: "Direct", updates: 1, tsCloses: true},
		{tsCreates: false, funding: "Direct", updates: 1, tsCloses: true},
	}
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			p := newPair(t, sk.open(t), app.Config{Protocol: nitro.Protocol0101})
			for _, c := range cases {
				t.Run(c.String(), func(t *testing.T) {
					p.t = t
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
					defer cancel()
					p.runChannel(ctx, c)
				})
			}
		})
	}
}

// runChannel opens, updates and closes one channel as c says.
func (p *pair) runChannel(ctx context.Context, c liveCase) {
	t := p.t
	t.Helper()
	var (
		h  history
		id nitro.Bytes32
	)
	// The creator is participant 0; each side's allocation item follows
	// the participant order.
	goAmt, tsAmt := int64(7), int64(4)
	if c.tsCreates {
		out, err := p.ts.CreateChannel(ctx, tslive.CreateChannelParams{
			Participants: p.tsParticipants(true), Allocations: p.tsAlloc(goAmt, tsAmt, true),
			AppDefinition: "0x0000000000000000000000000000000000000000", AppData: "0x00", FundingStrategy: c.funding,
		})
		if err != nil {
			t.Fatal(err)
		}
		id = common32(out.ChannelResults[0].ChannelID)
		p.relay(ctx, nil, out.Outbox)
		p.observeOne(ctx, &h, id, "proposed", "opening", 0)
		res, err := p.goW.JoinChannel(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		p.relay(ctx, res.Outbox, nil)
	} else {
		res, err := p.goW.CreateChannel(ctx, app.CreateChannelParams{
			Participants: p.goParticipants(false), Allocations: p.goAlloc(goAmt, tsAmt, false),
			FundingStrategy: c.funding, AppData: []byte{0},
		})
		if err != nil {
			t.Fatal(err)
		}
		id = res.ChannelResults[0].ChannelID
		p.relay(ctx, res.Outbox, nil)
		p.observeOne(ctx, &h, id, "opening", "proposed", 0)
		out, err := p.ts.JoinChannel(ctx, id.Hex())
		if err != nil {
			t.Fatal(err)
		}
		p.relay(ctx, nil, out.Outbox)
	}
	if c.funding == "Direct" {
		p.reportFunding(ctx, &h, id, c.tsCreates, goAmt, tsAmt)
	}
	p.observe(ctx, &h, id, "running", 3)
	p.agree(ctx, id, 3)

	// Updates in turn: turn 4 is participant 0's (the creator's).
	turn := uint64(3)
	for i := 0; i < c.updates; i++ {
		turn++
		tsMoves := (turn%2 == 0) == c.tsCreates
		// Without an app, a mover may lower only its own allocation.
		if tsMoves {
			goAmt, tsAmt = goAmt+1, tsAmt-1
		} else {
			goAmt, tsAmt = goAmt-1, tsAmt+1
		}
		if tsMoves {
			out, err := p.ts.UpdateChannel(ctx, tslive.UpdateChannelParams{ChannelID: id.Hex(), Allocations: p.tsAlloc(goAmt, tsAmt, c.tsCreates), AppData: "0x00"})
			if err != nil {
				t.Fatalf("TS update to turn %d: %v", turn, err)
			}
			p.relay(ctx, nil, out.Outbox)
		} else {
			res, err := p.goW.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: p.goAlloc(goAmt, tsAmt, c.tsCreates), AppData: []byte{0}})
			if err != nil {
				t.Fatalf("our update to turn %d: %v", turn, err)
			}
			p.relay(ctx, res.Outbox, nil)
		}
		p.observe(ctx, &h, id, "running", turn)
		p.agree(ctx, id, turn)
	}

	// Close: the final state is turn+1 whoever calls closeChannel (on the
	// other's turn, the caller sends the CloseChannel objective and the
	// peer signs the final state).
	if c.tsCloses {
		out, err := p.ts.CloseChannel(ctx, id.Hex())
		if err != nil {
			t.Fatal(err)
		}
		p.relay(ctx, nil, out.Outbox)
	} else {
		res, err := p.goW.CloseChannel(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		p.relay(ctx, res.Outbox, nil)
	}
	p.observe(ctx, &h, id, "closed", turn+1)
	p.agree(ctx, id, turn+1)
	goFirst, tsFirst := "opening", "proposed"
	if c.tsCreates {
		goFirst, tsFirst = tsFirst, goFirst
	}
	inOrder(t, "our wallet", h.goSeen, goFirst, "closed")
	inOrder(t, "the TS wallet", h.tsSeen, tsFirst, "closed")
}

// observeOne is observe for a moment the two sides differ: ours has goS,
// the TS wallet tsS, both at turn.
func (p *pair) observeOne(ctx context.Context, h *history, id nitro.Bytes32, goS, tsS string, turn uint64) {
	p.t.Helper()
	g, err := p.goW.GetState(ctx, id)
	if err != nil {
		p.t.Fatal(err)
	}
	ts, err := p.ts.GetState(ctx, id.Hex())
	if err != nil {
		p.t.Fatal(err)
	}
	h.add(string(g.Status), ts.Status)
	if string(g.Status) != goS || g.TurnNum != turn || ts.Status != tsS || ts.TurnNum != turn {
		p.t.Fatalf("channel %s: ours %s at %d, the TS wallet's %s at %d; want %s and %s at %d", id, g.Status, g.TurnNum, ts.Status, ts.TurnNum, goS, tsS, turn)
	}
}

// reportFunding stands in for the deposits of a directly funded channel:
// both wallets are told the holdings as each item of the allocation (in its
// order) is deposited, with UpdateFundingForChannels.
func (p *pair) reportFunding(ctx context.Context, h *history, id nitro.Bytes32, tsFirst bool, goAmt, tsAmt int64) {
	p.t.Helper()
	// Our wallet says funding while it waits for deposits; the TS wallet
	// never does (opening until funded).
	g, err := p.goW.GetState(ctx, id)
	if err != nil {
		p.t.Fatal(err)
	}
	p.observeOne(ctx, h, id, string(g.Status), "opening", 1)
	if g.Status != "opening" && g.Status != "funding" {
		p.t.Fatalf("our wallet: channel %s is %s before funding, want opening or funding", id, g.Status)
	}
	first := goAmt
	if tsFirst {
		first = tsAmt
	}
	for _, held := range []int64{first, goAmt + tsAmt} {
		out, err := p.ts.UpdateFundingForChannels(ctx, []tslive.FundingUpdate{{ChannelID: id.Hex(), AssetHolderAddress: p.chain.ETHAssetHolder().Hex(), Amount: fmt.Sprintf("0x%064x", held)}})
		if err != nil {
			p.t.Fatal(err)
		}
		res, err := p.goW.UpdateFundingForChannels(ctx, []app.FundingUpdate{{ChannelID: id, AssetHolder: p.chain.ETHAssetHolder(), Amount: big.NewInt(held)}})
		if err != nil {
			p.t.Fatal(err)
		}
		p.relay(ctx, res.Outbox, out.Outbox)
		if held == first {
			g, err1 := p.goW.GetState(ctx, id)
			ts, err2 := p.ts.GetState(ctx, id.Hex())
			if err1 != nil || err2 != nil {
				p.t.Fatal(err1, err2)
			}
			h.add(string(g.Status), ts.Status)
			if g.TurnNum != 1 || ts.TurnNum != 1 {
				p.t.Fatalf("part funded: ours at turn %d, the TS wallet's at %d, want both still at 1", g.TurnNum, ts.TurnNum)
			}
		}
	}
}
