package apprules_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"strings"
	"testing"

	geth "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/apprules"
)

// testChain is a dev chain with NitroAdjudicator 0.17.0 and the npm
// package's four apps deployed, and each app's runtime code (read back
// with eth_getCode, as the wallet will) prepared for local runs.
type testChain struct {
	d      *ethereum.DevChain
	art    *ethereum.Artifacts
	appArt *ethereum.AppArtifacts
	key    *ecdsa.PrivateKey
	apps   map[string]common.Address
	local  map[common.Address]*apprules.App
}

var appNames = []string{"TrivialApp", "CountingApp", "SingleAssetPayments", "HashLockedSwap"}

func newTestChain(t testing.TB) *testChain {
	t.Helper()
	ctx := context.Background()
	art, err := ethereum.LoadArtifacts("")
	if err != nil {
		t.Fatal(err)
	}
	appArt, err := ethereum.LoadAppArtifacts("")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := crypto.ToECDSA(crypto.Keccak256([]byte("apprules-test-deployer")))
	wei := new(big.Int).Mul(big.NewInt(1000), big.NewInt(1e18))
	d, err := ethereum.NewDevChain(ctx, ethereum.DevOptions{
		Artifacts: art, MainnetRules: true,
		Alloc: map[common.Address]*big.Int{crypto.PubkeyToAddress(key.PublicKey): wei},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	c := &testChain{d: d, art: art, appArt: appArt, key: key, apps: map[string]common.Address{}, local: map[common.Address]*apprules.App{}}
	for i, a := range []ethereum.Artifact{appArt.TrivialApp, appArt.CountingApp, appArt.SingleAssetPayments, appArt.HashLockedSwap} {
		c.apps[appNames[i]] = c.deploy(t, a.Bytecode)
	}
	return c
}

// deploy sends creation code and prepares the runtime code it leaves.
func (c *testChain) deploy(t testing.TB, initCode []byte) common.Address {
	t.Helper()
	ctx := context.Background()
	cl := c.d.Client()
	from := crypto.PubkeyToAddress(c.key.PublicKey)
	id, err := cl.ChainID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nonce, err := cl.PendingNonceAt(ctx, from)
	if err != nil {
		t.Fatal(err)
	}
	head, err := cl.HeaderByNumber(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	tip := big.NewInt(1e9)
	tx, err := types.SignNewTx(c.key, types.LatestSignerForChainID(id), &types.DynamicFeeTx{
		ChainID: id, Nonce: nonce, GasTipCap: tip, Gas: 5_000_000, Data: initCode,
		GasFeeCap: new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.SendTransaction(ctx, tx); err != nil {
		t.Fatal(err)
	}
	rcpt, err := cl.TransactionReceipt(ctx, tx.Hash())
	if err != nil || rcpt.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("deploy: %v (receipt %+v)", err, rcpt)
	}
	code, err := c.d.Backend.Client().CodeAt(ctx, rcpt.ContractAddress, nil)
	if err != nil || len(code) == 0 {
		t.Fatalf("code at %s: %d bytes, %v", rcpt.ContractAddress, len(code), err)
	}
	app, err := apprules.NewApp(rcpt.ContractAddress, code, apprules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.local[rcpt.ContractAddress] = app
	return rcpt.ContractAddress
}

// transition is one call of the adjudicator's validTransition.
type transition struct {
	n        uint64
	isFinal  [2]bool
	ab       [2]apprules.VariablePart
	turnNumB uint64
	app      common.Address
	what     string // how it was made, for failure messages
}

type abiVariablePart struct {
	Outcome []byte
	AppData []byte
}

// onChain is the deployed adjudicator's verdict: nil, or the raw revert
// data (empty for a revert without data).
func (c *testChain) onChain(t testing.TB, tr transition) (valid bool, revert []byte) {
	t.Helper()
	ab := [2]abiVariablePart{{tr.ab[0].Outcome, tr.ab[0].AppData}, {tr.ab[1].Outcome, tr.ab[1].AppData}}
	data, err := c.art.NitroAdjudicator.ABI.Pack("validTransition", new(big.Int).SetUint64(tr.n), tr.isFinal, ab, new(big.Int).SetUint64(tr.turnNumB), tr.app)
	if err != nil {
		t.Fatal(err)
	}
	adj := c.d.Deployment.Adjudicator
	out, err := c.d.Client().CallContract(context.Background(), geth.CallMsg{To: &adj, Data: data, Gas: 7_000_000}, nil)
	if err == nil {
		vals, uerr := c.art.NitroAdjudicator.ABI.Unpack("validTransition", out)
		if uerr != nil || len(vals) != 1 || vals[0] != true {
			t.Fatalf("%s: adjudicator returned %x (%v)", tr.what, out, uerr)
		}
		return true, nil
	}
	var de rpc.DataError
	if errors.As(err, &de) {
		if s, ok := de.ErrorData().(string); ok {
			b, derr := hexutil.Decode(s)
			if derr != nil {
				t.Fatalf("%s: revert data %q: %v", tr.what, s, derr)
			}
			if len(b) == 0 {
				b = nil
			}
			return false, b
		}
	}
	if strings.Contains(err.Error(), "execution reverted") {
		return false, nil
	}
	t.Fatalf("%s: eth_call: %v", tr.what, err)
	return false, nil
}

// checker returns the local app at addr, nil (no code) when there is none.
func (c *testChain) checker(addr common.Address) apprules.Checker {
	if app, ok := c.local[addr]; ok {
		return app
	}
	return nil
}

// TestArtifactRuntimeIsDeployedCode: each npm app's deployedBytecode
// (ethereum.Artifact.Runtime, which the benchmarks register without a
// chain) is byte for byte the code its deployment leaves, as the wallet
// reads it with eth_getCode.
func TestArtifactRuntimeIsDeployedCode(t *testing.T) {
	c := newTestChain(t)
	for i, a := range []ethereum.Artifact{c.appArt.TrivialApp, c.appArt.CountingApp, c.appArt.SingleAssetPayments, c.appArt.HashLockedSwap} {
		code, err := c.d.Backend.Client().CodeAt(context.Background(), c.apps[appNames[i]], nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Runtime) == 0 || !bytes.Equal(a.Runtime, code) {
			t.Errorf("%s: deployedBytecode (%d bytes) is not the deployed code (%d bytes)", appNames[i], len(a.Runtime), len(code))
		}
	}
}
