package ethereum

import (
	"context"
	"errors"
	"math/big"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/nitrowallet/nitrowallet/ports"
)

// frozenClient stops answering once frozen is closed, as a node under
// SIGSTOP would: every call waits until its context ends.
type frozenClient struct {
	Client
	frozen chan struct{}
}

func (c frozenClient) wait(ctx context.Context) error {
	select {
	case <-c.frozen:
		<-ctx.Done()
		return ctx.Err()
	default:
		return nil
	}
}

func (c frozenClient) CallContract(ctx context.Context, msg ethereum.CallMsg, block *big.Int) ([]byte, error) {
	if err := c.wait(ctx); err != nil {
		return nil, err
	}
	return c.Client.CallContract(ctx, msg, block)
}

func (c frozenClient) BlockNumber(ctx context.Context) (uint64, error) {
	if err := c.wait(ctx); err != nil {
		return 0, err
	}
	return c.Client.BlockNumber(ctx)
}

func (c frozenClient) EstimateGas(ctx context.Context, msg ethereum.CallMsg) (uint64, error) {
	if err := c.wait(ctx); err != nil {
		return 0, err
	}
	return c.Client.EstimateGas(ctx, msg)
}

func (c frozenClient) TransactionReceipt(ctx context.Context, h common.Hash) (*types.Receipt, error) {
	if err := c.wait(ctx); err != nil {
		return nil, err
	}
	return c.Client.TransactionReceipt(ctx, h)
}

// TestFrozenNodeIsUnavailable (issue 19, defect 2): with the node frozen,
// a holdings read and a deposit made with a context that never ends
// return ports.ErrUnavailable within a few call timeouts. Before, they
// hung for as long as the node did.
func TestFrozenNodeIsUnavailable(t *testing.T) {
	d := devChain(t, DevOptions{})
	ctx := context.Background()
	frozen := make(chan struct{})
	fc := frozenClient{Client: d.Client(), frozen: frozen}
	c, err := New(ctx, Config{Client: fc, Signer: KeySigner(fundedKey(t, d, "frozen")), Contracts: d.Deployment.Contracts, Dev: true,
		CallTimeout: 200 * time.Millisecond, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	close(frozen)
	for name, call := range map[string]func() error{
		"holdings": func() error {
			_, err := c.Holdings(ctx, d.Deployment.Contracts.ETHAssetHolder, channelID(77))
			return err
		},
		"deposit": func() error { _, err := deposit(t, c, channelID(77), 0, 1); return err },
	} {
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- call() }()
		select {
		case err := <-done:
			if !errors.Is(err, ports.ErrUnavailable) {
				t.Fatalf("%s on a frozen node: %v, want ports.ErrUnavailable", name, err)
			}
			t.Logf("%s on a frozen node: %v after %v", name, err, time.Since(start))
		case <-time.After(10 * time.Second):
			t.Fatalf("%s on a frozen node still waits after 10 s (call timeout 200 ms)", name)
		}
	}
}

// droppingClient accepts transactions and loses them, as a node whose pool
// dropped them would.
type droppingClient struct{ Client }

func (droppingClient) SendTransaction(context.Context, *types.Transaction) error { return nil }

// TestLostTransactionBounded (issue 19, defect 3): a deposit whose
// transaction the node loses returns within ReceiptWait with ErrNotMined
// (which matches ports.ErrUnavailable), while the transaction is followed
// in the background. Before, the caller waited for StuckTimeout and more.
func TestLostTransactionBounded(t *testing.T) {
	d := devChain(t, DevOptions{})
	ctx := context.Background()
	c, err := New(ctx, Config{Client: droppingClient{d.Client()}, Signer: KeySigner(fundedKey(t, d, "dropped")), Contracts: d.Deployment.Contracts, Dev: true,
		ReceiptWait: 300 * time.Millisecond, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() { _, err := deposit(t, c, channelID(78), 0, 1); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrNotMined) || !errors.Is(err, ports.ErrUnavailable) {
			t.Fatalf("lost deposit: %v, want ErrNotMined", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a lost deposit still holds its caller after 10 s (ReceiptWait 300 ms)")
	}
}

// flakyNodeClient loses the first transaction it is sent, fails the
// second with a transport error, and passes the rest on; it records every
// nonce sent.
type flakyNodeClient struct {
	Client
	mu     *sync.Mutex
	sends  *int
	nonces *[]uint64
}

func (c flakyNodeClient) SendTransaction(ctx context.Context, tx *types.Transaction) error {
	c.mu.Lock()
	*c.sends++
	n := *c.sends
	*c.nonces = append(*c.nonces, tx.Nonce())
	c.mu.Unlock()
	switch n {
	case 1:
		return nil // accepted, then forgotten by the node
	case 2:
		return &net.OpError{Op: "write", Net: "tcp", Err: syscall.ECONNRESET}
	}
	return c.Client.SendTransaction(ctx, tx)
}

// TestNonceHasOneOwner (issue 19, defect 4): after a transport error the
// adapter reads the node's nonce again, but never hands out a nonce whose
// transaction it still follows, even when the node forgot it. Before, the
// node's stale nonce was reused, and the first transaction's fee-bumped
// resubmissions replaced the new one.
func TestNonceHasOneOwner(t *testing.T) {
	d := devChain(t, DevOptions{})
	ctx := context.Background()
	var (
		mu     sync.Mutex
		sends  int
		nonces []uint64
	)
	fc := flakyNodeClient{Client: d.Client(), mu: &mu, sends: &sends, nonces: &nonces}
	c, err := New(ctx, Config{Client: fc, Signer: KeySigner(fundedKey(t, d, "owner")), Contracts: d.Deployment.Contracts, Dev: true,
		ReceiptWait: 200 * time.Millisecond, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		_, err := deposit(t, c, channelID(uint64(90+i)), 0, 1)
		if err == nil {
			t.Fatalf("deposit %d: mined, but no transaction of this test can be", i)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(nonces) != 3 || nonces[0] != 0 || nonces[2] == nonces[0] {
		t.Fatalf("nonces sent %v: the third reuses the first's, which its tracker still follows", nonces)
	}
}
