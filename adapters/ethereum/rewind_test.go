package ethereum_test

import (
	"context"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// TestEventsRewindAtSubscribe: a wallet restarted after its node came back
// lower (the head below its cursor) gets a Rewound event first, at the
// newest of its checkpoints still on the chain; the events after it come
// again from the new branch.
func TestEventsRewindAtSubscribe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := newDevChain(t, ethereum.DevOptions{})
	key := newKey(t)
	if err := d.Fund(ctx, crypto.PubkeyToAddress(key.PublicKey), milli(1000)); err != nil {
		t.Fatal(err)
	}
	c, err := d.NewChain(ctx, key, ethereum.Config{})
	if err != nil {
		t.Fatal(err)
	}
	eth := nitro.Address(d.Deployment.ETHAssetHolder)
	deposit := func(id nitro.Bytes32, amount *big.Int) core.ChainEvent {
		t.Helper()
		h, err := d.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Deposit(ctx, ports.DepositRequest{ChannelID: id, Asset: eth, ExpectedHeld: new(big.Int), Amount: amount}); err != nil {
			t.Fatal(err)
		}
		stream, err := c.Events(ctx, ports.Cursor{Block: h + 1})
		if err != nil {
			t.Fatal(err)
		}
		return <-stream
	}
	first := deposit(nitro.Bytes32{1}, big.NewInt(1)) // kept
	second := deposit(nitro.Bytes32{2}, big.NewInt(2))
	if first.BlockHash == (nitro.Bytes32{}) || second.Block <= first.Block {
		t.Fatalf("events %+v, %+v", first, second)
	}
	cursor := ports.Cursor{Block: first.Block, Hash: first.BlockHash}.Advance(second.Block, second.BlockHash)
	if err := d.RollbackTo(ctx, first.Block); err != nil {
		t.Fatal(err)
	}
	// The head is below the cursor now: a lower head.
	stream, err := c.Events(ctx, cursor)
	if err != nil {
		t.Fatal(err)
	}
	if rw := <-stream; rw.Kind != core.EventRewound || rw.Block != first.Block || rw.BlockHash != first.BlockHash {
		t.Fatalf("first event %s at block %d, want Rewound at block %d", rw.Kind, rw.Block, first.Block)
	}
	// The new branch, at the removed block's height.
	again := deposit(nitro.Bytes32{3}, big.NewInt(3))
	if got := <-stream; got.Kind != core.EventDeposited || got.ChannelID != again.ChannelID || got.Block != second.Block {
		t.Fatalf("after the rewind: %s for %s at block %d, want the new deposit at block %d", got.Kind, got.ChannelID, got.Block, second.Block)
	}
}
