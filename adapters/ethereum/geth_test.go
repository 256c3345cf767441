package ethereum_test

import (
	"context"
	"crypto/ecdsa"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/internal/gethdev"
	"github.com/nitrowallet/nitrowallet/ports"
)

// gethBinary returns the pinned geth (gethdev.Binary).
func gethBinary(t *testing.T) string { return gethdev.Binary(t) }

func freePort(t *testing.T) int { return gethdev.FreePort(t) }

// gethNode is a running `geth --dev` on loopback.
type gethNode struct {
	url    string
	rpc    *rpc.Client
	client *ethclient.Client
	dev    common.Address // the node's unlocked, funded dev account
}

// startGeth runs geth --dev (blocks sealed on demand) on a free loopback
// port with a temporary data dir, and stops it when the test ends.
func startGeth(t *testing.T) *gethNode {
	t.Helper()
	n := gethdev.Start(t)
	return &gethNode{url: n.URL, rpc: n.RPC, client: n.Client, dev: n.Dev}
}

// fund sends wei from the dev account to addr and waits until it is mined.
func (n *gethNode) fund(t testing.TB, addr common.Address, wei *big.Int) {
	t.Helper()
	(&gethdev.Node{RPC: n.rpc, Client: n.client, Dev: n.dev}).Fund(t, addr, wei)
}

// gethBackend runs the app scenarios on a geth node over JSON-RPC.
type gethBackend struct {
	n   *gethNode
	dep ethereum.Deployment
	cfg ethereum.Config
}

func (b *gethBackend) account(t testing.TB, key *ecdsa.PrivateKey) ports.Chain {
	t.Helper()
	b.n.fund(t, crypto.PubkeyToAddress(key.PublicKey), milli(10_000))
	cfg := b.cfg
	cfg.Client, cfg.Signer, cfg.Contracts = b.n.client, ethereum.KeySigner(key), b.dep.Contracts
	c, err := ethereum.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func (b *gethBackend) eth() common.Address   { return b.dep.ETHAssetHolder }
func (b *gethBackend) token() common.Address { return b.dep.ERC20AssetHolder() }

func (b *gethBackend) balance(t testing.TB, a common.Address) *big.Int {
	t.Helper()
	x, err := b.n.client.BalanceAt(context.Background(), a, nil)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func (b *gethBackend) tokenBalance(t testing.TB, a common.Address) *big.Int {
	t.Helper()
	x, err := ethereum.TokenBalance(context.Background(), b.n.client, b.dep.Token, a)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestGethDevNode deploys the contracts on a real `geth --dev` node and runs
// the founding document's happy path over JSON-RPC, checking the exact
// payouts. A missing geth is built first, never skipped.
func TestGethDevNode(t *testing.T) {
	n := startGeth(t)
	ctx := context.Background()
	deployer := newKey(t)
	n.fund(t, crypto.PubkeyToAddress(deployer.PublicKey), milli(100_000))
	cfg := ethereum.Config{PollInterval: 20 * time.Millisecond, Dev: true} // geth --dev seals blocks on demand only
	dep, err := ethereum.Deploy(ctx, n.client, ethereum.KeySigner(deployer), loadArtifacts(t), ethereum.DeployOptions{Token: true, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := n.client.ChainID(ctx); err != nil || id.Int64() != 1337 {
		t.Fatalf("chain id %v, %v", id, err)
	}
	// A Chain on a node over JSON-RPC gets the safe confirmation depth
	// unless it is told the node is a dev node.
	for _, dev := range []bool{false, true} {
		c, err := ethereum.New(ctx, ethereum.Config{Client: n.client, Signer: ethereum.KeySigner(deployer), Contracts: dep.Contracts, Dev: dev})
		if err != nil {
			t.Fatal(err)
		}
		want := uint64(ethereum.DefaultConfirmations)
		if dev {
			want = 0
		}
		if got := c.Confirmations(); got != want {
			t.Fatalf("Dev %v: confirmations %d, want %d", dev, got, want)
		}
		c.Close()
	}
	seedPath(t, &gethBackend{n: n, dep: dep, cfg: cfg}, 2)
}
