package main

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// benchDevChain is go-ethereum's in-process simulated chain with the Nitro
// contracts deployed; it mines a block on every transaction.
type benchDevChain struct{ d *ethereum.DevChain }

func newBenchDevChain(ctx context.Context) (*benchDevChain, error) {
	d, err := ethereum.NewDevChain(ctx, ethereum.DevOptions{MainnetRules: true, PollInterval: time.Millisecond})
	if err != nil {
		return nil, err
	}
	return &benchDevChain{d: d}, nil
}

func (b *benchDevChain) account(ctx context.Context, key *ecdsa.PrivateKey) (ports.Chain, error) {
	if err := b.d.Fund(ctx, crypto.PubkeyToAddress(key.PublicKey), big.NewInt(1e18)); err != nil {
		return nil, err
	}
	return b.d.NewChain(ctx, key, ethereum.Config{})
}

func (b *benchDevChain) asset() nitro.Address { return b.d.Deployment.ETHAssetHolder }
func (b *benchDevChain) close()               { b.d.Close() }

// benchEVM measures channel lifecycles between two wallets (memory stores)
// on the simulated chain: open→running of one channel at a time, and
// open→running→closed (paid out) of many channels at once.
func benchEVM(ctx context.Context, o benchOptions) ([]benchRow, error) {
	chain, err := newBenchDevChain(ctx)
	if err != nil {
		return nil, err
	}
	defer chain.close()
	p, err := newBenchPair(ctx, chain, "memory")
	if err != nil {
		return nil, err
	}
	defer p.close()
	var rows []benchRow
	// One channel at a time: createChannel to both wallets running.
	opens := 10 * o.count
	var lat []time.Duration
	start := time.Now()
	for i := 0; i < opens; i++ {
		t0 := time.Now()
		id, err := p.create()
		if err == nil {
			err = p.wait(id, time.Minute, benchRunning)
		}
		if err != nil {
			return nil, err
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	s := benchSample{ops: opens, elapsed: time.Since(start), lat: lat}
	r := benchSummarize("evm: open→running, 1 channel at a time", "channels/s", []benchSample{s}, nil)
	r.allocs = -1
	rows = append(rows, r)
	// Many channels at once: open, one update, close, wait for the payout.
	n := o.evmChans
	lat = make([]time.Duration, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	start = time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			id, err := p.create()
			if err == nil {
				err = p.wait(id, 5*time.Minute, benchRunning)
			}
			if err == nil {
				err = p.update(id)
			}
			if err == nil {
				err = p.closeChannel(id)
			}
			if err == nil {
				err = p.wait(id, 5*time.Minute, benchDefunded)
			}
			if err != nil {
				errs <- err
				return
			}
			lat[i] = time.Since(t0)
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	slices.Sort(lat)
	s = benchSample{ops: n, elapsed: time.Since(start), lat: lat}
	r = benchSummarize(fmt.Sprintf("evm: open→running→closed, %d channels at once", n), "channels/s", []benchSample{s}, nil)
	r.allocs = -1
	return append(rows, r), nil
}
