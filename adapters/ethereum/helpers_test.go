package ethereum_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// artifacts are read once per test binary.
var artifacts = sync.OnceValues(func() (*ethereum.Artifacts, error) { return ethereum.LoadArtifacts("") })

func loadArtifacts(t testing.TB) *ethereum.Artifacts {
	t.Helper()
	a, err := artifacts()
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// newDevChain starts a dev chain closed at the end of the test.
func newDevChain(t testing.TB, opts ethereum.DevOptions) *ethereum.DevChain {
	t.Helper()
	opts.Artifacts = loadArtifacts(t)
	d, err := ethereum.NewDevChain(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

var keyCounter atomic.Uint64

// newKey returns a key no other test uses.
func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte(fmt.Sprintf("ethereum-test-key-%d", keyCounter.Add(1)))))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// devEnv is the chain suite's Env on a dev chain.
type devEnv struct {
	d   *ethereum.DevChain
	cfg ethereum.Config
	t   testing.TB
}

func (e *devEnv) ETHAssetHolder() nitro.Address   { return e.d.Deployment.ETHAssetHolder }
func (e *devEnv) ERC20AssetHolder() nitro.Address { return e.d.Deployment.ERC20AssetHolder() }

func (e *devEnv) NewAccount(ctx context.Context, wei, tokens *big.Int) (ports.Chain, nitro.Address, error) {
	key := newKey(e.t)
	addr := crypto.PubkeyToAddress(key.PublicKey)
	if wei.Sign() > 0 {
		if err := e.d.Fund(ctx, addr, wei); err != nil {
			return nil, addr, err
		}
	}
	if tokens.Sign() > 0 {
		if err := e.d.FundToken(ctx, addr, tokens); err != nil {
			return nil, addr, err
		}
	}
	c, err := e.d.NewChain(ctx, key, e.cfg)
	return c, addr, err
}

func (e *devEnv) Head(ctx context.Context) (uint64, error) { return e.d.Head(ctx) }

func (e *devEnv) RollbackTo(ctx context.Context, n uint64) error { return e.d.RollbackTo(ctx, n) }

func (e *devEnv) Balance(ctx context.Context, a nitro.Address) (*big.Int, error) {
	return e.d.Balance(ctx, a)
}

func (e *devEnv) TokenBalance(ctx context.Context, a nitro.Address) (*big.Int, error) {
	return e.d.TokenBalance(ctx, a)
}

func (e *devEnv) Fee(ctx context.Context, tx ports.TxHash) (*big.Int, error) {
	r, err := e.d.Client().TransactionReceipt(ctx, tx)
	if err != nil {
		return nil, err
	}
	return new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), r.EffectiveGasPrice), nil
}

// DeployApp deploys the npm package's TrivialApp (chaintest.AppDeployer)
// and reads its runtime code with the node's client, which must be part
// of the creation code.
func (e *devEnv) DeployApp(ctx context.Context) (nitro.Address, []byte, error) {
	apps, err := ethereum.LoadAppArtifacts("")
	if err != nil {
		return nitro.Address{}, nil, err
	}
	addr, err := e.d.DeployApp(ctx, apps.TrivialApp)
	if err != nil {
		return addr, nil, err
	}
	code, err := e.d.Backend.Client().CodeAt(ctx, addr, nil)
	if err == nil && !bytes.Contains(apps.TrivialApp.Bytecode, code) {
		err = fmt.Errorf("runtime code of %d bytes is not part of TrivialApp's creation code", len(code))
	}
	return addr, code, err
}

// AdjustTime moves the dev chain's clock (chaintest.DisputeEnv).
func (e *devEnv) AdjustTime(_ context.Context, seconds uint64) error {
	_, err := e.d.AdjustTime(time.Duration(seconds) * time.Second)
	return err
}

// DeployCountingApp deploys the npm package's CountingApp
// (chaintest.DisputeEnv).
func (e *devEnv) DeployCountingApp(ctx context.Context) (nitro.Address, error) {
	apps, err := ethereum.LoadAppArtifacts("")
	if err != nil {
		return nitro.Address{}, err
	}
	return e.d.DeployApp(ctx, apps.CountingApp)
}
