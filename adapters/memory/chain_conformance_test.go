package memory_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
	"github.com/nitrowallet/nitrowallet/ports/chaintest"
)

// TestChainConformance runs the chain suite that the EVM adapter also
// passes, so the model and the real contracts agree.
func TestChainConformance(t *testing.T) {
	chaintest.Run(t, func(t *testing.T) chaintest.Env {
		c := memory.NewChain(big.NewInt(chaintest.ChainID))
		return &memoryEnv{c: c, tok: c.AddERC20AssetHolder("TEST")}
	})
}

type memoryEnv struct {
	c   *memory.Chain
	tok nitro.Address
	n   int
}

func (e *memoryEnv) ETHAssetHolder() nitro.Address   { return e.c.ETHAssetHolder() }
func (e *memoryEnv) ERC20AssetHolder() nitro.Address { return e.tok }

func (e *memoryEnv) NewAccount(_ context.Context, wei, tokens *big.Int) (ports.Chain, nitro.Address, error) {
	e.n++
	addr := nitro.Address(crypto.Keccak256([]byte(fmt.Sprintf("conformance-account-%d", e.n)))[12:])
	e.c.Fund(addr, wei)
	e.c.FundToken(e.tok, addr, tokens)
	return e.c.Account(addr), addr, nil
}

func (e *memoryEnv) Balance(_ context.Context, a nitro.Address) (*big.Int, error) {
	return e.c.Balance(a), nil
}

func (e *memoryEnv) TokenBalance(_ context.Context, a nitro.Address) (*big.Int, error) {
	return e.c.TokenBalance(e.tok, a), nil
}

func (e *memoryEnv) Fee(context.Context, ports.TxHash) (*big.Int, error) { return new(big.Int), nil }

func (e *memoryEnv) Head(context.Context) (uint64, error) { return e.c.BlockNumber(), nil }

func (e *memoryEnv) RollbackTo(_ context.Context, n uint64) error {
	e.c.Reorg(int(e.c.BlockNumber()-n), memory.ReorgDrop)
	return nil
}

// DeployApp puts a fixed piece of code at a fixed address (chaintest.AppDeployer).
func (e *memoryEnv) DeployApp(context.Context) (nitro.Address, []byte, error) {
	addr, code := nitro.Address{0xc0, 0xde}, []byte{0x60, 0x01, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3}
	e.c.SetCode(addr, code)
	return addr, code, nil
}

// AdjustTime seals a block seconds after the head (chaintest.DisputeEnv).
func (e *memoryEnv) AdjustTime(_ context.Context, seconds uint64) error {
	e.c.AdjustTime(seconds)
	return nil
}

// DeployCountingApp puts the npm CountingApp's runtime code (the
// artifact's deployedBytecode) at a fixed address (chaintest.DisputeEnv):
// the model runs it with package apprules where the adjudicator calls it.
func (e *memoryEnv) DeployCountingApp(context.Context) (nitro.Address, error) {
	code, err := countingAppCode()
	if err != nil {
		return nitro.Address{}, err
	}
	addr := nitro.Address{0xc0, 0x01}
	e.c.SetCode(addr, code)
	return addr, nil
}

// countingAppCode reads CountingApp's runtime code from the npm artifact,
// once per test binary.
var countingAppCode = sync.OnceValues(func() ([]byte, error) {
	dir, err := ethereum.FindArtifacts()
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(dir, "contracts", "CountingApp.sol", "CountingApp.json"))
	if err != nil {
		return nil, err
	}
	var art struct {
		DeployedBytecode string `json:"deployedBytecode"`
	}
	if err := json.Unmarshal(raw, &art); err != nil {
		return nil, err
	}
	return hexutil.Decode(art.DeployedBytecode)
})
