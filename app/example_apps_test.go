package app_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// ExampleWallet_RegisterAppDefinition registers an app in two wallets on
// go-ethereum's simulated chain, one by its address (RegisterAppDefinition)
// and one by its bytecode (RegisterAppBytecode), opens a channel that runs
// it, and shows the app refusing an update: SingleAssetPayments, from the
// npm package, lets the mover pay the others but never take from them.
func ExampleWallet_RegisterAppDefinition() {
	ctx := context.Background()
	dev, err := ethereum.NewDevChain(ctx, ethereum.DevOptions{})
	if err != nil {
		panic(err)
	}
	defer dev.Close()
	apps, err := ethereum.LoadAppArtifacts("")
	if err != nil {
		panic(err)
	}
	payments, err := dev.DeployApp(ctx, apps.SingleAssetPayments)
	if err != nil {
		panic(err)
	}

	// Two wallets, each signing states with its own key and sending
	// transactions from an account funded on the dev chain.
	names := []string{"alice", "bob"}
	wallets := map[string]*app.Wallet{}
	var ps []app.Participant
	for _, name := range names {
		signer := memory.SignerFromSeed("example-apps-" + name)
		txKey, _ := crypto.ToECDSA(crypto.Keccak256([]byte("example-apps-account-" + name)))
		if err := dev.Fund(ctx, crypto.PubkeyToAddress(txKey.PublicKey), big.NewInt(1e18)); err != nil {
			panic(err)
		}
		chain, err := dev.NewChain(ctx, txKey, ethereum.Config{})
		if err != nil {
			panic(err)
		}
		w, err := app.New(ctx, app.Config{Signer: signer, Store: memory.NewStore(), Chain: chain})
		if err != nil {
			panic(err)
		}
		defer w.Close()
		wallets[name] = w
		ps = append(ps, app.Participant{ParticipantID: name, SigningAddress: signer.Address(), Destination: nitro.AddressToDestination(signer.Address())})
	}
	alice, bob := wallets["alice"], wallets["bob"]

	// Alice's wallet reads the app's code through its chain port; an
	// address without code is refused with code 1001.
	err = alice.RegisterAppDefinition(ctx, nitro.Address{0xde, 0xad})
	fmt.Println("no code there:", app.Code(err), errors.Is(err, app.ErrInvalidAppDefinition))
	if err := alice.RegisterAppDefinition(ctx, payments); err != nil {
		panic(err)
	}
	// Bob's application hands its wallet the code it trusts (here read
	// from the dev chain; it could be built from the artifact).
	code, err := dev.Client().CodeAt(ctx, payments, nil)
	if err != nil {
		panic(err)
	}
	if err := bob.RegisterAppBytecode(ctx, payments, code); err != nil {
		panic(err)
	}

	allocation := func(a, b int64) []app.Allocation {
		return []app.Allocation{{AssetHolderAddress: dev.Deployment.ETHAssetHolder, AllocationItems: []app.AllocationItem{
			{Destination: ps[0].Destination, Amount: big.NewInt(a)}, {Destination: ps[1].Destination, Amount: big.NewInt(b)},
		}}}
	}
	relay, stop := newExampleRelay(wallets, names)
	defer stop()
	res, err := alice.CreateChannel(ctx, app.CreateChannelParams{Participants: ps, Allocations: allocation(5, 3), AppDefinition: payments})
	if err != nil {
		panic(err)
	}
	id := res.ChannelResults[0].ChannelID
	relay.push(ctx, res.Outbox)
	res, err = bob.JoinChannel(ctx, id)
	if err != nil {
		panic(err)
	}
	relay.push(ctx, res.Outbox)
	// Both deposit; the postfund messages follow as MessageQueued.
	c := relay.until(ctx, id, func(c app.ChannelResult) bool { return c.Status == core.StatusRunning && c.TurnNum == 3 })
	fmt.Printf("running: turn %d, %v\n", c.TurnNum, exampleAmounts(c))

	// It is alice's turn: she may pay bob, but not take from him.
	_, err = alice.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: allocation(6, 2)})
	fmt.Println("alice takes 1 wei:", app.Code(err), errors.Is(err, app.ErrAppRule))
	c, _ = alice.GetState(ctx, id)
	fmt.Printf("unchanged: turn %d, %v\n", c.TurnNum, exampleAmounts(c))
	res, err = alice.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: allocation(4, 4)})
	if err != nil {
		panic(err)
	}
	relay.push(ctx, res.Outbox)
	c, _ = bob.GetState(ctx, id)
	fmt.Printf("alice pays 1 wei: turn %d, %v\n", c.TurnNum, exampleAmounts(c))
	// Output:
	// no code there: 1001 true
	// running: turn 3, [5 3]
	// alice takes 1 wei: 401 true
	// unchanged: turn 3, [5 3]
	// alice pays 1 wei: turn 4, [4 4]
}

// exampleRelay is the applications' transport in the example above: it
// pushes messages into their recipients' wallets, and the replies in turn,
// and carries the messages the wallets queue on their own.
type exampleRelay struct {
	wallets map[string]*app.Wallet
	names   []string
	notes   chan app.Message
}

// newExampleRelay subscribes to every wallet's notifications, before any
// call, so no MessageQueued is missed; stop ends the subscriptions.
func newExampleRelay(wallets map[string]*app.Wallet, names []string) (r *exampleRelay, stop func()) {
	r = &exampleRelay{wallets: wallets, names: names, notes: make(chan app.Message, 64)}
	done := make(chan struct{})
	var stops []func()
	for _, name := range names {
		ch, stop := wallets[name].Subscribe()
		stops = append(stops, stop)
		go func() {
			for n := range ch {
				if n.Type != app.MessageQueued {
					continue
				}
				select {
				case r.notes <- n.Message:
				case <-done:
					return
				}
			}
		}()
	}
	return r, func() {
		close(done)
		for _, stop := range stops {
			stop()
		}
	}
}

// push delivers msgs, then the replies to them.
func (r *exampleRelay) push(ctx context.Context, msgs []app.Message) {
	for _, m := range msgs {
		res, err := r.wallets[m.Recipient].PushMessage(ctx, m.Data)
		if err != nil {
			panic(err)
		}
		r.push(ctx, res.Outbox)
	}
}

// until carries the messages the wallets queue on their own (after chain
// events) until every wallet's view of channel id satisfies done, and
// returns the first wallet's view.
func (r *exampleRelay) until(ctx context.Context, id nitro.Bytes32, done func(app.ChannelResult) bool) app.ChannelResult {
	deadline := time.After(10 * time.Second)
	for {
		var first app.ChannelResult
		all := true
		for i, name := range r.names {
			c, err := r.wallets[name].GetState(ctx, id)
			if i == 0 {
				first = c
			}
			all = all && err == nil && done(c)
		}
		if all {
			return first
		}
		select {
		case m := <-r.notes:
			r.push(ctx, []app.Message{m})
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			panic("example: the channel did not get there in 10 s")
		}
	}
}

// exampleAmounts lists a two-party channel's allocation amounts.
func exampleAmounts(c app.ChannelResult) []*big.Int {
	var out []*big.Int
	for _, it := range c.Allocations[0].AllocationItems {
		out = append(out, it.Amount)
	}
	return out
}
