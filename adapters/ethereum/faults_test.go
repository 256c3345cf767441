package ethereum_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"net"
	"net/url"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	ethadapter "github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// flakyClient is a client whose node can be cut off: while down every call
// fails the way an HTTP client fails when nothing listens on the port.
type flakyClient struct {
	ethadapter.Client
	mu   sync.Mutex
	down bool
	// downAfterSend cuts the node off right after it accepts the next
	// transaction, so the sender never sees its receipt.
	downAfterSend bool
}

func (c *flakyClient) setDown(down bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.down = down
}

func (c *flakyClient) gate() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.down {
		return &url.Error{Op: "Post", URL: "http://127.0.0.1:8545", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
	}
	return nil
}

func (c *flakyClient) BlockNumber(ctx context.Context) (uint64, error) {
	if err := c.gate(); err != nil {
		return 0, err
	}
	return c.Client.BlockNumber(ctx)
}

func (c *flakyClient) ChainID(ctx context.Context) (*big.Int, error) {
	if err := c.gate(); err != nil {
		return nil, err
	}
	return c.Client.ChainID(ctx)
}

func (c *flakyClient) CallContract(ctx context.Context, m ethereum.CallMsg, n *big.Int) ([]byte, error) {
	if err := c.gate(); err != nil {
		return nil, err
	}
	return c.Client.CallContract(ctx, m, n)
}

func (c *flakyClient) EstimateGas(ctx context.Context, m ethereum.CallMsg) (uint64, error) {
	if err := c.gate(); err != nil {
		return 0, err
	}
	return c.Client.EstimateGas(ctx, m)
}

func (c *flakyClient) FilterLogs(ctx context.Context, q ethereum.FilterQuery) ([]types.Log, error) {
	if err := c.gate(); err != nil {
		return nil, err
	}
	return c.Client.FilterLogs(ctx, q)
}

func (c *flakyClient) TransactionReceipt(ctx context.Context, h common.Hash) (*types.Receipt, error) {
	if err := c.gate(); err != nil {
		return nil, err
	}
	return c.Client.TransactionReceipt(ctx, h)
}

func (c *flakyClient) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	if err := c.gate(); err != nil {
		return err
	}
	if err := c.Client.SendTransaction(ctx, tx); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.downAfterSend {
		c.down, c.downAfterSend = true, false
	}
	return nil
}

func (c *flakyClient) HeaderByNumber(ctx context.Context, n *big.Int) (*types.Header, error) {
	if err := c.gate(); err != nil {
		return nil, err
	}
	return c.Client.HeaderByNumber(ctx, n)
}

func (c *flakyClient) BalanceAt(ctx context.Context, a common.Address, n *big.Int) (*big.Int, error) {
	if err := c.gate(); err != nil {
		return nil, err
	}
	return c.Client.BalanceAt(ctx, a, n)
}

func (c *flakyClient) NonceAt(ctx context.Context, a common.Address, n *big.Int) (uint64, error) {
	if err := c.gate(); err != nil {
		return 0, err
	}
	return c.Client.NonceAt(ctx, a, n)
}

func (c *flakyClient) PendingNonceAt(ctx context.Context, a common.Address) (uint64, error) {
	if err := c.gate(); err != nil {
		return 0, err
	}
	return c.Client.PendingNonceAt(ctx, a)
}

func (c *flakyClient) SuggestGasTipCap(ctx context.Context) (*big.Int, error) {
	if err := c.gate(); err != nil {
		return nil, err
	}
	return c.Client.SuggestGasTipCap(ctx)
}

// recordingChain remembers the errors its Deposit and Conclude return.
type recordingChain struct {
	ports.Chain
	mu   sync.Mutex
	errs []error
}

func (c *recordingChain) Deposit(ctx context.Context, req ports.DepositRequest) (ports.TxHash, error) {
	h, err := c.Chain.Deposit(ctx, req)
	c.record(err)
	return h, err
}

func (c *recordingChain) ConcludeAndTransferAll(ctx context.Context, req ports.ConcludeRequest) (ports.TxHash, error) {
	h, err := c.Chain.ConcludeAndTransferAll(ctx, req)
	c.record(err)
	return h, err
}

func (c *recordingChain) record(err error) {
	if err != nil {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.errs = append(c.errs, err)
	}
}

func (c *recordingChain) errors() []error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]error(nil), c.errs...)
}

// faultWorld is a two-party world on a dev chain whose party A sends
// through a flaky client and a recording chain.
type faultWorld struct {
	*world
	d     *ethadapter.DevChain
	flaky *flakyClient
	rec   *recordingChain
}

// faultBackend gives party A (the first account) the flaky client.
type faultBackend struct {
	devBackend
	fw *faultWorld
}

func (b *faultBackend) account(t testing.TB, key *ecdsa.PrivateKey) ports.Chain {
	t.Helper()
	if b.fw.rec != nil {
		return b.devBackend.account(t, key)
	}
	ctx := context.Background()
	addr := crypto.PubkeyToAddress(key.PublicKey)
	if err := b.d.Fund(ctx, addr, milli(10_000)); err != nil {
		t.Fatal(err)
	}
	c, err := ethadapter.New(ctx, ethadapter.Config{
		Client: b.fw.flaky, Signer: ethadapter.KeySigner(key), Contracts: b.d.Deployment.Contracts,
		PollInterval: b.cfg.PollInterval, UnavailableAfter: 2, Dev: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	b.fw.rec = &recordingChain{Chain: c}
	return b.fw.rec
}

func newFaultWorld(t *testing.T) *faultWorld {
	d := newDevChain(t, ethadapter.DevOptions{})
	fw := &faultWorld{d: d, flaky: &flakyClient{Client: d.Client()}}
	b := &faultBackend{devBackend: devBackend{d: d, cfg: ethadapter.Config{PollInterval: 5 * time.Millisecond}}, fw: fw}
	fw.world = newWorld(t, b, 2)
	return fw
}

// open creates a channel from A and has B join it; A's deposit is made
// (or fails) while the call that delivers B's prefund runs.
func (fw *faultWorld) open(allocs []app.Allocation) nitro.Bytes32 {
	t := fw.t
	A, B := fw.parties[0], fw.parties[1]
	r, err := A.w.CreateChannel(fw.ctx, app.CreateChannelParams{Participants: fw.participants(), Allocations: allocs})
	if err != nil {
		t.Fatal(err)
	}
	id := r.ChannelResults[0].ChannelID
	fw.push(r.Outbox[0])
	if r, err = B.w.JoinChannel(fw.ctx, id); err != nil {
		t.Fatal(err)
	}
	fw.push(r.Outbox[0])
	return id
}

// finish retries A's failed work with a tick, then runs the channel to
// the end and checks the payouts.
func (fw *faultWorld) finish(id nitro.Bytes32, asset common.Address, a, b *big.Int, balance func(testing.TB, common.Address) *big.Int) {
	t := fw.t
	A, B := fw.parties[0], fw.parties[1]
	A.w.Tick(fw.ctx)
	n := fw.waitNote(A, "MessageQueued(postfund)", func(n app.Notification) bool { return n.Type == app.MessageQueued })
	r := fw.push(fw.answer(B, fw.push(n.Message)))
	wantStatus(t, "A running", one(t, r, id), core.StatusRunning, 3)
	r, err := A.w.CloseChannel(fw.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	r = fw.push(r.Outbox[0])
	fw.push(r.Outbox[0])
	for _, p := range []*party{A, B} {
		fw.waitNote(p, "Defunded", func(n app.Notification) bool {
			return n.Channel.ChannelID == id && n.Channel.FundingStatus == core.FundingDefunded
		})
	}
	wantAmount(t, "A's destination", balance(t, A.dest), a)
	wantAmount(t, "B's destination", balance(t, B.dest), b)
}

// TestRevertedDepositRecovers: A's token deposit reverts on chain because A
// lacks tokens; the app gets a typed revert, the channel waits, and once
// A holds the tokens a tick retries the deposit and the channel completes.
func TestRevertedDepositRecovers(t *testing.T) {
	fw := newFaultWorld(t)
	A := fw.parties[0]
	tok := fw.b.token()
	if err := fw.d.FundToken(fw.ctx, crypto.PubkeyToAddress(A.key.PublicKey), big.NewInt(2)); err != nil {
		t.Fatal(err)
	}
	id := fw.open(fw.allocation(tok, big.NewInt(5), big.NewInt(3)))

	errs := fw.rec.errors()
	if len(errs) != 1 {
		t.Fatalf("A's chain returned errors %v, want one failed deposit", errs)
	}
	var rev *ports.RevertError
	if !errors.As(errs[0], &rev) || rev.Reason != ethadapter.ReasonERC20Balance || !errors.Is(errs[0], ports.ErrInsufficientFunds) {
		t.Fatalf("deposit error %v, want a revert %q matching ErrInsufficientFunds", errs[0], ethadapter.ReasonERC20Balance)
	}
	c, err := A.w.GetState(fw.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "A after the failed deposit", c, core.StatusFunding, 1)

	if err := fw.d.FundToken(fw.ctx, crypto.PubkeyToAddress(A.key.PublicKey), big.NewInt(3)); err != nil {
		t.Fatal(err)
	}
	fw.finish(id, tok, big.NewInt(5), big.NewInt(3), fw.b.tokenBalance)
}

// TestRPCOutageRecovers cuts A's node off around A's deposit, before the
// transaction is sent and after the node accepted it: each time the app
// gets ports.ErrUnavailable, and once the node is back a tick and the
// event stream's reconnection complete the channel.
func TestRPCOutageRecovers(t *testing.T) {
	for _, tc := range []struct {
		name  string
		apply func(*flakyClient)
	}{
		{"BeforeSend", func(c *flakyClient) { c.setDown(true) }},
		{"AfterSend", func(c *flakyClient) { c.mu.Lock(); c.downAfterSend = true; c.mu.Unlock() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fw := newFaultWorld(t)
			eth := fw.b.eth()
			tc.apply(fw.flaky)
			id := fw.open(fw.allocation(eth, milli(5), milli(3)))
			errs := fw.rec.errors()
			if len(errs) != 1 || !errors.Is(errs[0], ports.ErrUnavailable) {
				t.Fatalf("A's chain returned %v, want one ErrUnavailable", errs)
			}
			fw.flaky.setDown(false)
			fw.finish(id, eth, milli(5), milli(3), fw.b.balance)
		})
	}
}
