package ethereum_test

import (
	"context"
	"math/big"
	"sync/atomic"
	"testing"
	"time"

	goethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/core/types"
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

// rollbackClient rolls its dev chain back to block to just before it
// answers the next header read after arm: the chain loses its latest
// blocks between the event scanner's read of the head and its read of a
// header at or below that head, the race a reorg or a node that came back
// lower makes.
type rollbackClient struct {
	ethereum.Client
	trigger
}

// trigger is an armed client's switch: the block to roll back to, whether
// armed, and a channel closed once the rollback is done.
type trigger struct {
	d     *ethereum.DevChain
	armed atomic.Bool
	to    atomic.Uint64
	done  chan struct{}
}

// init readies an unarmed trigger for d.
func (c *trigger) init(d *ethereum.DevChain) {
	c.d, c.done = d, make(chan struct{})
	c.to.Store(^uint64(0))
}

func (c *trigger) arm(to uint64) {
	c.to.Store(to)
	c.armed.Store(true)
}

func (c *trigger) rolledBack() <-chan struct{} { return c.done }

// fires disarms the trigger and reports true once, for the first block
// above the rollback's target after arm.
func (c *trigger) fires(n *big.Int) bool {
	return n != nil && n.Uint64() > c.to.Load() && c.armed.CompareAndSwap(true, false)
}

// rollback rolls the chain back to the target and says so.
func (c *trigger) rollback(ctx context.Context) error {
	if err := c.d.RollbackTo(ctx, c.to.Load()); err != nil {
		return err
	}
	close(c.done)
	return nil
}

func (c *rollbackClient) HeaderByNumber(ctx context.Context, n *big.Int) (*types.Header, error) {
	if c.fires(n) {
		if err := c.rollback(ctx); err != nil {
			return nil, err
		}
	}
	return c.Client.HeaderByNumber(ctx, n)
}

// reorgingClient plays a node in the middle of a reorg once armed: the
// next header read above block to finds no block (the old blocks' numbers
// are gone) while the head read right after it still gives the old head;
// only then does the rollback finish. geth's SetCanonical has that window,
// and a conformance run under load closed its event stream in it.
type reorgingClient struct {
	ethereum.Client
	trigger
	pending atomic.Bool
}

func (c *reorgingClient) HeaderByNumber(ctx context.Context, n *big.Int) (*types.Header, error) {
	if c.fires(n) {
		c.pending.Store(true)
		return nil, goethereum.NotFound
	}
	return c.Client.HeaderByNumber(ctx, n)
}

func (c *reorgingClient) BlockNumber(ctx context.Context) (uint64, error) {
	head, err := c.Client.BlockNumber(ctx)
	if c.pending.CompareAndSwap(true, false) {
		if rerr := c.rollback(ctx); rerr != nil {
			return 0, rerr
		}
	}
	return head, err
}

// filterRollbackClient rolls its dev chain back to block to just before it
// answers the next log query reaching above it, once armed: the chain
// loses its latest blocks between the scanner's read of the range's last
// header and its query of the range's logs, which the node then refuses
// as beyond its head.
type filterRollbackClient struct {
	ethereum.Client
	trigger
}

func (c *filterRollbackClient) FilterLogs(ctx context.Context, q goethereum.FilterQuery) ([]types.Log, error) {
	if c.fires(q.ToBlock) {
		if err := c.rollback(ctx); err != nil {
			return nil, err
		}
	}
	return c.Client.FilterLogs(ctx, q)
}

// armedClient is a node client that rolls its chain back to block to in
// a chosen way once armed, and says when it has.
type armedClient interface {
	ethereum.Client
	arm(to uint64)
	rolledBack() <-chan struct{}
}

// TestEventsSurviveHeadDroppingMidPoll: when the chain loses its latest
// blocks after the stream read the head and before it read a header above
// the new head, the stream does not end (it used to, on the node's "not
// found"): it sends a Rewound event at the common ancestor, then the new
// branch's events. A clean-clone CI run failed the chain conformance
// suite's RollbackBelowDeliveredEvents so, under load.
func TestEventsSurviveHeadDroppingMidPoll(t *testing.T) {
	testRollbackMidPoll(t, func(d *ethereum.DevChain) armedClient {
		rc := &rollbackClient{Client: d.Client()}
		rc.init(d)
		return rc
	})
}

// TestEventsSurviveReorgInProgress: a header read that finds no block at
// or below the head (a reorg half done) makes the stream ask again, not
// end: it then sends a Rewound event at the common ancestor, and the new
// branch's events. Before, the stream closed on the node's "not found"
// (4 of 2,000 conformance runs of RollbackBelowDeliveredEvents under load).
func TestEventsSurviveReorgInProgress(t *testing.T) {
	testRollbackMidPoll(t, func(d *ethereum.DevChain) armedClient {
		rc := &reorgingClient{Client: d.Client()}
		rc.init(d)
		return rc
	})
}

// TestEventsSurviveHeadDroppingBeforeLogQuery: a log query the node
// refuses because the head fell below the range (after the scanner read
// the range's last header) makes the stream poll again, not end.
func TestEventsSurviveHeadDroppingBeforeLogQuery(t *testing.T) {
	testRollbackMidPoll(t, func(d *ethereum.DevChain) armedClient {
		rc := &filterRollbackClient{Client: d.Client()}
		rc.init(d)
		return rc
	})
}

// testRollbackMidPoll: a deposit's event, then the client's rollback to
// the block before it during a poll, must give a Rewound event at or below
// that block, then the new branch's deposit: the stream never ends.
func testRollbackMidPoll(t *testing.T, client func(*ethereum.DevChain) armedClient) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d := newDevChain(t, ethereum.DevOptions{})
	key := newKey(t)
	if err := d.Fund(ctx, crypto.PubkeyToAddress(key.PublicKey), milli(1000)); err != nil {
		t.Fatal(err)
	}
	rc := client(d)
	c, err := ethereum.New(ctx, ethereum.Config{
		Client: rc, Signer: ethereum.KeySigner(key), Contracts: d.Deployment.Contracts,
		PollInterval: 5 * time.Millisecond, Dev: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	eth := nitro.Address(d.Deployment.ETHAssetHolder)
	before, err := d.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := c.Events(ctx, ports.Cursor{Block: before + 1})
	if err != nil {
		t.Fatal(err)
	}
	next := func() core.ChainEvent {
		t.Helper()
		select {
		case ev, ok := <-stream:
			if !ok {
				t.Fatal("the event stream ended")
			}
			return ev
		case <-ctx.Done():
			t.Fatal("no event")
		}
		return core.ChainEvent{}
	}
	deposit := func(id nitro.Bytes32) {
		t.Helper()
		if _, err := c.Deposit(ctx, ports.DepositRequest{ChannelID: id, Asset: eth, ExpectedHeld: new(big.Int), Amount: big.NewInt(1)}); err != nil {
			t.Fatal(err)
		}
		if ev := next(); ev.Kind != core.EventDeposited || ev.ChannelID != id || ev.Block <= before {
			t.Fatalf("%s for %s at block %d, want the deposit for %s above block %d", ev.Kind, ev.ChannelID, ev.Block, id, before)
		}
	}
	deposit(nitro.Bytes32{1})
	// The next poll reads the head, then its check reads the header of the
	// deposit's block and it scans the new block; the rollback removes
	// them at the client's chosen moment.
	rc.arm(before)
	d.Commit() // an empty block, for the next poll to scan
	select {
	case <-rc.rolledBack():
	case <-ctx.Done():
		t.Fatal("the stream read no header above the rollback's block")
	}
	if rw := next(); rw.Kind != core.EventRewound || rw.Block > before {
		t.Fatalf("after the rollback to block %d: %s at block %d, want Rewound at or below it", before, rw.Kind, rw.Block)
	}
	deposit(nitro.Bytes32{2}) // the new branch
}
