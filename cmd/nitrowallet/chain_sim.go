package main

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"io"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// evmBackend runs the demo on the real Nitro 0.17.0 contracts: in
// go-ethereum's simulated chain ("sim") or on a development node over
// JSON-RPC (an http:// or ws:// URL). It prints every transaction with its
// gas when it is mined.
type evmBackend struct {
	out    io.Writer
	client ethereum.Client
	dep    ethereum.Deployment
	fund   func(ctx context.Context, addr common.Address, wei *big.Int) error
	deploy func(ctx context.Context, a ethereum.Artifact) (common.Address, error)
	cfg    ethereum.Config
	closer func()

	verbose bool

	mu     sync.Mutex
	chains []*ethereum.Chain
	onTx   func(ethereum.TxInfo)
}

// demoFunds is what each demo account receives: 1 ether.
var demoFunds = big.NewInt(1e18)

// printTx reports a mined transaction: to the function reportTxs set, or
// with verbose to the output.
func (b *evmBackend) printTx(i ethereum.TxInfo) {
	b.mu.Lock()
	f := b.onTx
	b.mu.Unlock()
	if f != nil {
		f(i)
		return
	}
	if !b.verbose {
		return
	}
	status := "ok"
	if i.Err != nil {
		status = "failed: " + i.Err.Error()
	}
	fmt.Fprintf(b.out, "chain: tx %s %s from %s (nonce %d): block %d, gas used %d, %s\n", i.Hash.Hex(), i.Kind, i.From.Hex(), i.Nonce, i.Block, i.GasUsed, status)
}

// newSimBackend starts the simulated chain under mainnet gas rules and
// deploys the contracts from the npm artifacts.
func newSimBackend(ctx context.Context, out io.Writer, verbose bool) (*evmBackend, error) {
	art, err := ethereum.LoadArtifacts("")
	if err != nil {
		return nil, fmt.Errorf("the sim chain deploys the npm contracts: %w (or run the demo with -chain memory)", err)
	}
	b := &evmBackend{out: out, verbose: verbose}
	fmt.Fprintln(out, "chain: go-ethereum simulated chain (chain id 1337, mainnet gas rules), deploying Nitro 0.17.0 from the npm artifacts")
	d, err := ethereum.NewDevChain(ctx, ethereum.DevOptions{Artifacts: art, MainnetRules: true, OnTx: b.printTx})
	if err != nil {
		return nil, err
	}
	b.client, b.dep, b.closer = d.Client(), d.Deployment, d.Close
	b.fund, b.deploy = d.Fund, d.DeployApp
	b.cfg = ethereum.Config{PollInterval: 5 * time.Millisecond, OnTx: b.printTx, Dev: true}
	b.printDeployment()
	return b, nil
}

// newRPCBackend connects to a development node (geth --dev) whose first
// account is unlocked and funded: it funds the demo's accounts from it and
// deploys the contracts.
func newRPCBackend(ctx context.Context, url string, out io.Writer, verbose bool) (*evmBackend, error) {
	art, err := ethereum.LoadArtifacts("")
	if err != nil {
		return nil, err
	}
	b := &evmBackend{out: out, verbose: verbose}
	// A dev node: no confirmation depth (New refuses Dev on a public
	// chain id, so the demo's derived keys never meet a real network).
	b.cfg = ethereum.Config{PollInterval: 50 * time.Millisecond, OnTx: b.printTx, Dev: true}
	n, err := dialDevNode(ctx, url, b.cfg.PollInterval)
	if err != nil {
		return nil, err
	}
	b.client, b.closer, b.fund, b.deploy = n.client, n.Close, n.fund, n.deploy
	fmt.Fprintf(out, "chain: node at %s, deploying Nitro 0.17.0 from the npm artifacts\n", url)
	deployer := demoKey("deployer")
	if err := b.fund(ctx, crypto.PubkeyToAddress(deployer.PublicKey), new(big.Int).Mul(demoFunds, big.NewInt(10))); err != nil {
		b.Close()
		return nil, err
	}
	if b.dep, err = ethereum.Deploy(ctx, b.client, ethereum.KeySigner(deployer), art, ethereum.DeployOptions{Config: b.cfg}); err != nil {
		b.Close()
		return nil, err
	}
	b.printDeployment()
	return b, nil
}

func (b *evmBackend) printDeployment() {
	fmt.Fprintf(b.out, "chain: NitroAdjudicator %s, ETHAssetHolder %s\n", b.dep.Adjudicator.Hex(), b.dep.ETHAssetHolder.Hex())
}

// demoKey derives a demo account key; never use it on a real network.
func demoKey(name string) *ecdsa.PrivateKey {
	k, err := crypto.ToECDSA(crypto.Keccak256([]byte("nitrowallet-demo-sender-" + name)))
	if err != nil {
		panic(err)
	}
	return k
}

// Account gives the wallet signing with s an account of its own to send
// transactions from (a key derived from s's address, funded with 1 ether):
// the state-signing key never leaves the signer.
func (b *evmBackend) Account(ctx context.Context, s ports.Signer) (ports.Chain, error) {
	key := demoKey(s.Address().Hex())
	addr := crypto.PubkeyToAddress(key.PublicKey)
	if err := b.fund(ctx, addr, demoFunds); err != nil {
		return nil, err
	}
	cfg := b.cfg
	cfg.Client, cfg.Signer, cfg.Contracts = b.client, ethereum.KeySigner(key), b.dep.Contracts
	c, err := ethereum.New(ctx, cfg)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.chains = append(b.chains, c)
	b.mu.Unlock()
	fmt.Fprintf(b.out, "chain: wallet %s sends from account %s (funded with %s wei)\n", s.Address().Hex(), addr.Hex(), demoFunds)
	return c, nil
}

func (b *evmBackend) reportTxs(f func(ethereum.TxInfo)) {
	b.mu.Lock()
	b.onTx = f
	b.mu.Unlock()
}

// DeployApp deploys the app (from the dev chain's faucet, or the node's
// first account) and waits until it is mined.
func (b *evmBackend) DeployApp(ctx context.Context, a ethereum.Artifact) (nitro.Address, error) {
	return b.deploy(ctx, a)
}

func (b *evmBackend) ETHAssetHolder() nitro.Address { return b.dep.ETHAssetHolder }

func (b *evmBackend) Balance(ctx context.Context, a nitro.Address) (*big.Int, error) {
	return b.client.BalanceAt(ctx, a, nil)
}

func (b *evmBackend) Holdings(ctx context.Context, id nitro.Bytes32) (*big.Int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.chains) == 0 {
		return nil, fmt.Errorf("no account yet")
	}
	return b.chains[0].Holdings(ctx, b.dep.ETHAssetHolder, id)
}

func (b *evmBackend) Close() {
	b.mu.Lock()
	chains := b.chains
	b.chains = nil
	b.mu.Unlock()
	for _, c := range chains {
		c.Close()
	}
	if b.closer != nil {
		b.closer()
	}
}
