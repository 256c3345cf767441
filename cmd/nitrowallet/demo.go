package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// demoOptions selects what the demo runs on.
type demoOptions struct {
	updates int
	chain   string
	store   string
}

// demoParty is one server application and its wallet.
type demoParty struct {
	name  string
	w     *app.Wallet
	notes <-chan app.Notification
	dest  nitro.Address
}

// demo runs the founding document's happy path between A and B, printing
// every call, status and message as it happens.
func demo(ctx context.Context, out io.Writer, opt demoOptions) error {
	m := opt.updates
	chain, err := newChainBackend(ctx, opt.chain)
	if err != nil {
		return err
	}
	defer chain.Close()
	var parties []*demoParty
	var ps []app.Participant
	for _, name := range []string{"A", "B"} {
		s := memory.SignerFromSeed("nitrowallet-demo-" + name)
		acct, err := chain.Account(ctx, s)
		if err != nil {
			return err
		}
		store, closeStore, err := newStore(ctx, opt.store, name)
		if err != nil {
			return err
		}
		defer closeStore()
		w, err := app.New(ctx, app.Config{Signer: s, Store: store, Chain: acct})
		if err != nil {
			return err
		}
		defer w.Close()
		notes, stop := w.Subscribe()
		defer stop()
		dest := nitro.Address(crypto.Keccak256Hash([]byte("nitrowallet-demo-destination-" + name)).Bytes()[12:])
		parties = append(parties, &demoParty{name: name, w: w, notes: notes, dest: dest})
		ps = append(ps, app.Participant{ParticipantID: name, SigningAddress: s.Address(), Destination: nitro.AddressToDestination(dest)})
		fmt.Fprintf(out, "wallet %s: signing address %s, payout destination %s\n", name, s.Address(), dest)
	}
	A, B := parties[0], parties[1]
	byName := map[string]*demoParty{"A": A, "B": B}
	alloc := func(a, b int64) []app.Allocation {
		return []app.Allocation{{AssetHolderAddress: chain.ETHAssetHolder(), AllocationItems: []app.AllocationItem{
			{Destination: ps[0].Destination, Amount: big.NewInt(a)},
			{Destination: ps[1].Destination, Amount: big.NewInt(b)},
		}}}
	}
	var id nitro.Bytes32
	show := func(who, call string, r app.Result) {
		c, _ := r.Channel(id)
		fmt.Fprintf(out, "%s->>Wallet%s: %s\n", who, who, call)
		fmt.Fprintf(out, "Wallet%s-->>%s: %s: %s (turn %d, funding %s)\n", who, who, short(id), c.Status, c.TurnNum, c.FundingStatus)
		for _, msg := range r.Outbox {
			fmt.Fprintf(out, "Wallet%s-->>%s: outbox: message to %s: %s\n", who, who, msg.Recipient, msg.Data)
		}
	}
	push := func(msg app.Message) (app.Result, error) {
		to := byName[msg.Recipient]
		fmt.Fprintf(out, "%s->>%s: message\n", msg.Sender, msg.Recipient)
		r, err := to.w.PushMessage(ctx, msg.Data)
		if err != nil {
			return r, err
		}
		show(to.name, "pushMessage", r)
		return r, nil
	}
	r, err := A.w.CreateChannel(ctx, app.CreateChannelParams{Participants: ps, Allocations: alloc(5, 3)})
	if err != nil {
		return err
	}
	id = r.ChannelResults[0].ChannelID
	show("A", "createChannel", r)
	if r, err = push(r.Outbox[0]); err != nil {
		return err
	}
	if r, err = B.w.JoinChannel(ctx, id); err != nil {
		return err
	}
	show("B", fmt.Sprintf("joinChannel(%s)", short(id)), r)
	if _, err = push(r.Outbox[0]); err != nil {
		return err
	}
	// Deposits happen on chain; A's postfund message is queued afterwards.
	msg2, err := waitMessage(ctx, A, out)
	if err != nil {
		return err
	}
	held, err := chain.Holdings(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "chain: channel holds %v wei\n", held)
	if r, err = push(msg2); err != nil {
		return err
	}
	// B learns the channel is funded from its own Deposited events; if A's
	// postfund arrives first, B sends its postfund once it has seen them.
	msg3 := app.Message{}
	if len(r.Outbox) > 0 {
		msg3 = r.Outbox[0]
	} else if msg3, err = waitMessage(ctx, B, out); err != nil {
		return err
	}
	if _, err = push(msg3); err != nil {
		return err
	}
	a := int64(5)
	for i := 0; i < m; i++ {
		for _, p := range []*demoParty{A, B} {
			if p == A {
				a--
			} else {
				a++
			}
			r, err := p.w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: alloc(a, 8-a)})
			if err != nil {
				return err
			}
			show(p.name, fmt.Sprintf("updateChannel(A:%d, B:%d)", a, 8-a), r)
			if _, err = push(r.Outbox[0]); err != nil {
				return err
			}
		}
	}
	if r, err = A.w.CloseChannel(ctx, id); err != nil {
		return err
	}
	show("A", "closeChannel", r)
	if r, err = push(r.Outbox[0]); err != nil {
		return err
	}
	if _, err = push(r.Outbox[0]); err != nil {
		return err
	}
	for _, p := range parties {
		if err := waitDefunded(ctx, p, id, out); err != nil {
			return err
		}
	}
	balA, errA := chain.Balance(ctx, A.dest)
	balB, errB := chain.Balance(ctx, B.dest)
	held, errH := chain.Holdings(ctx, id)
	if err := errors.Join(errA, errB, errH); err != nil {
		return err
	}
	fmt.Fprintf(out, "final balances: A's destination %v wei, B's destination %v wei; channel holds %v\n", balA, balB, held)
	return nil
}

func short(id nitro.Bytes32) string { return id.Hex()[:10] }

func waitMessage(ctx context.Context, p *demoParty, out io.Writer) (app.Message, error) {
	n, err := waitFor(ctx, p, func(n app.Notification) bool { return n.Type == app.MessageQueued })
	if err == nil {
		fmt.Fprintf(out, "Wallet%s-->>%s: MessageQueued: message to %s: %s\n", p.name, p.name, n.Message.Recipient, n.Message.Data)
	}
	return n.Message, err
}

func waitDefunded(ctx context.Context, p *demoParty, id nitro.Bytes32, out io.Writer) error {
	n, err := waitFor(ctx, p, func(n app.Notification) bool {
		return n.Channel.ChannelID == id && n.Channel.FundingStatus == core.FundingDefunded
	})
	if err == nil {
		fmt.Fprintf(out, "chain-->>Wallet%s: AllocationUpdated: %s %s, funding %s\n", p.name, short(id), n.Channel.Status, n.Channel.FundingStatus)
	}
	return err
}

func waitFor(ctx context.Context, p *demoParty, pred func(app.Notification) bool) (app.Notification, error) {
	timeout := time.After(30 * time.Second)
	for {
		select {
		case n := <-p.notes:
			if pred(n) {
				return n, nil
			}
		case <-timeout:
			return app.Notification{}, fmt.Errorf("wallet %s: timed out", p.name)
		case <-ctx.Done():
			return app.Notification{}, ctx.Err()
		}
	}
}
