package ethereum_test

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// BenchmarkGas reports the gas each contract call of a channel's life uses:
// the first deposit (a new storage slot), the second deposit, and
// concludePushOutcomeAndTransferAll paying two fresh accounts, for a channel
// in ETH and one in the test ERC20 token (whose deposits each need an
// approve first). "mainnet" runs today's mainnet rules (the dev chain's
// Bogota state-gas repricing off); "dev" the simulated chain's and
// geth --dev's defaults.
func BenchmarkGas(b *testing.B) {
	for _, rules := range []struct {
		name    string
		mainnet bool
	}{{"mainnet", true}, {"dev", false}} {
		for _, erc20 := range []bool{false, true} {
			name := rules.name + "/asset=eth"
			if erc20 {
				name = rules.name + "/asset=erc20"
			}
			b.Run(name, func(b *testing.B) { benchGas(b, rules.name, rules.mainnet, erc20) })
		}
	}
}

func benchGas(b *testing.B, rulesName string, mainnet, erc20 bool) {
	var mu sync.Mutex
	gas := map[string]uint64{}
	calls := map[string]int{}
	record := func(kind string) func(ethereum.TxInfo) {
		return func(i ethereum.TxInfo) {
			if i.Err != nil {
				b.Errorf("%s failed: %v", i.Kind, i.Err)
			}
			mu.Lock()
			defer mu.Unlock()
			k := i.Kind
			if k == "deposit" || k == "approve" {
				k += "_" + kind
			}
			gas[k] += i.GasUsed
			calls[k]++
		}
	}
	d := newDevChain(b, ethereum.DevOptions{MainnetRules: mainnet})
	ctx := context.Background()
	alice, bob := newKey(b), newKey(b)
	var chains []*ethereum.Chain
	for i, key := range []*ecdsa.PrivateKey{alice, bob} {
		if err := d.Fund(ctx, crypto.PubkeyToAddress(key.PublicKey), milli(1_000_000)); err != nil {
			b.Fatal(err)
		}
		if erc20 {
			if err := d.FundToken(ctx, crypto.PubkeyToAddress(key.PublicKey), big.NewInt(1_000_000)); err != nil {
				b.Fatal(err)
			}
		}
		c, err := d.NewChain(ctx, key, ethereum.Config{OnTx: record([]string{"first", "second"}[i])})
		if err != nil {
			b.Fatal(err)
		}
		chains = append(chains, c)
	}
	eth, unit := d.Deployment.ETHAssetHolder, milli(1)
	if erc20 { // the test Token's faucet holds a small supply
		eth, unit = d.Deployment.ERC20AssetHolder(), big.NewInt(1)
	}
	amount := func(x int64) *big.Int { return new(big.Int).Mul(big.NewInt(x), unit) }
	participants := []nitro.Address{crypto.PubkeyToAddress(alice.PublicKey), crypto.PubkeyToAddress(bob.PublicKey)}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		st := nitro.State{ChainID: chains[0].ChainID(), Participants: participants, ChannelNonce: uint64(n), AppDefinition: nitro.Address{0xaa},
			ChallengeDuration: 86400, TurnNum: 9, IsFinal: true}
		id, err := st.ChannelID()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := chains[0].Deposit(ctx, ports.DepositRequest{ChannelID: id, Asset: eth, ExpectedHeld: new(big.Int), Amount: amount(300)}); err != nil {
			b.Fatal(err)
		}
		if _, err := chains[1].Deposit(ctx, ports.DepositRequest{ChannelID: id, Asset: eth, ExpectedHeld: amount(300), Amount: amount(200)}); err != nil {
			b.Fatal(err)
		}
		dA := nitro.Address(crypto.Keccak256([]byte(fmt.Sprintf("bench-%s-A-%d", rulesName, n)))[12:])
		dB := nitro.Address(crypto.Keccak256([]byte(fmt.Sprintf("bench-%s-B-%d", rulesName, n)))[12:])
		st.Outcome = nitro.Outcome{{AssetHolder: eth, Allocation: []nitro.AllocationItem{
			{Destination: nitro.AddressToDestination(dA), Amount: amount(250)},
			{Destination: nitro.AddressToDestination(dB), Amount: amount(250)},
		}}}
		h, err := st.Hash()
		if err != nil {
			b.Fatal(err)
		}
		var sigs []nitro.Signature
		for _, k := range []*ecdsa.PrivateKey{alice, bob} {
			raw, err := crypto.Sign(nitro.SignatureDigest(h), k)
			if err != nil {
				b.Fatal(err)
			}
			raw[64] += 27
			s, _ := nitro.SignatureFromBytes(raw)
			sigs = append(sigs, s)
		}
		if _, err := chains[0].ConcludeAndTransferAll(ctx, ports.ConcludeRequest{State: st, Signatures: sigs}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	for k, g := range gas {
		b.ReportMetric(float64(g)/float64(calls[k]), "gas/"+k)
	}
}

// BenchmarkChannelWallTime reports, per channel between two wallets on the
// simulated chain, the wall time from createChannel to both wallets
// running (two prefunds, two mined deposits seen as events, two
// postfunds) and from closeChannel to both wallets seeing the payout (the
// countersigned final state, the mined conclude, AllocationUpdated).
func BenchmarkChannelWallTime(b *testing.B) {
	d := newDevChain(b, ethereum.DevOptions{MainnetRules: true, PollInterval: time.Millisecond})
	w := newWorld(b, &devBackend{d: d}, 2)
	r := newRouter(w)
	var open, closing time.Duration
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		start := time.Now()
		res, err := w.parties[0].w.CreateChannel(w.ctx, app.CreateChannelParams{Participants: w.participants(), Allocations: w.allocation(d.Deployment.ETHAssetHolder, milli(5), milli(3))})
		if err != nil {
			b.Fatal(err)
		}
		id := res.ChannelResults[0].ChannelID
		r.deliverAll(res)
		if err := r.wait(id, "running", running); err != nil {
			b.Fatal(err)
		}
		open += time.Since(start)
		start = time.Now()
		if res, err = w.parties[0].w.CloseChannel(w.ctx, id); err != nil {
			b.Fatal(err)
		}
		r.deliverAll(res)
		if err := r.wait(id, "paid", defunded); err != nil {
			b.Fatal(err)
		}
		closing += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(open.Microseconds())/1000/float64(b.N), "ms/open→running")
	b.ReportMetric(float64(closing.Microseconds())/1000/float64(b.N), "ms/close→paid")
}
