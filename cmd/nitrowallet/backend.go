package main

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// chainBackend is a chain the demo can run on: it funds the demo's accounts,
// gives each wallet its ports.Chain, and reads balances for the report.
type chainBackend interface {
	// Account returns the chain port bound to addr, funding addr first.
	Account(ctx context.Context, s ports.Signer) (ports.Chain, error)
	ETHAssetHolder() nitro.Address
	Balance(ctx context.Context, addr nitro.Address) (*big.Int, error)
	Holdings(ctx context.Context, id nitro.Bytes32) (*big.Int, error)
	// DeployApp deploys an app from its npm artifact (no constructor
	// arguments) and returns its address once the chain serves its code.
	DeployApp(ctx context.Context, a ethereum.Artifact) (nitro.Address, error)
	Close()
}

// txReporter is a chain backend that reports every transaction once it is
// mined (the EVM backends).
type txReporter interface {
	// reportTxs sends every later report to f instead of the output.
	reportTxs(f func(ethereum.TxInfo))
}

// newChainBackend builds the named chain backend: "sim" (the real Nitro
// contracts in go-ethereum's simulated chain, deployed from the npm
// artifacts of `make oracle`), "memory" (the in-memory model), or the
// http:// or ws:// URL of a development node such as geth --dev. The EVM
// backends print what they deploy to out, and with verbose every
// transaction, with its gas, until reportTxs takes the reports.
func newChainBackend(ctx context.Context, name string, out io.Writer, verbose bool) (chainBackend, error) {
	switch {
	case name == "memory":
		return &memoryBackend{c: memory.NewChain(big.NewInt(1337))}, nil
	case name == "sim":
		return newSimBackend(ctx, out, verbose)
	case strings.HasPrefix(name, "http://"), strings.HasPrefix(name, "https://"), strings.HasPrefix(name, "ws://"), strings.HasPrefix(name, "wss://"):
		return newRPCBackend(ctx, name, out, verbose)
	}
	return nil, fmt.Errorf("unknown chain %q (known: sim, memory, or a node's http:// or ws:// URL)", name)
}

// memoryBackend runs the demo on the in-memory model of the contracts.
type memoryBackend struct {
	c    *memory.Chain
	apps uint64 // apps deployed, the deployer's nonce
}

func (b *memoryBackend) Account(_ context.Context, s ports.Signer) (ports.Chain, error) {
	b.c.Fund(s.Address(), big.NewInt(1e18))
	return b.c.Account(s.Address()), nil
}

func (b *memoryBackend) ETHAssetHolder() nitro.Address { return b.c.ETHAssetHolder() }

func (b *memoryBackend) Balance(_ context.Context, a nitro.Address) (*big.Int, error) {
	return b.c.Balance(a), nil
}

func (b *memoryBackend) Holdings(_ context.Context, id nitro.Bytes32) (*big.Int, error) {
	return b.c.ChannelHoldings(b.c.ETHAssetHolder(), id), nil
}

// DeployApp puts the app's runtime code, built in a local EVM, where the
// demo's deployer account would create it (the model runs no app code: it
// serves it to RegisterAppDefinition).
func (b *memoryBackend) DeployApp(_ context.Context, a ethereum.Artifact) (nitro.Address, error) {
	code, err := runtimeCode(a)
	if err != nil {
		return nitro.Address{}, err
	}
	addr := crypto.CreateAddress(crypto.PubkeyToAddress(demoKey("deployer").PublicKey), b.apps)
	b.apps++
	b.c.SetCode(addr, code)
	return addr, nil
}

func (b *memoryBackend) Close() {}

// newStore opens the store a demo wallet uses: "memory" (each wallet its
// own), or a PostgreSQL URL (postgres://… or postgresql://…) where each
// wallet gets its own schema (see openPostgresStore).
func newStore(ctx context.Context, url, wallet string) (ports.Store, func(), error) {
	switch {
	case url == "" || url == "memory":
		return memory.NewStore(), func() {}, nil
	case isPostgresURL(url):
		return openPostgresStore(ctx, url, wallet)
	}
	return nil, nil, fmt.Errorf("unknown store %q (known: memory, postgres://…)", url)
}
