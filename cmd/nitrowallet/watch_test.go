package main

import (
	"bytes"
	"context"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
	"github.com/nitrowallet/nitrowallet/ports"
	"github.com/nitrowallet/nitrowallet/watchtower"
	"github.com/nitrowallet/nitrowallet/watchtower/watchtest"
)

// TestWatchHelpAndFlags: -h documents the command's flags and token, and
// settings it cannot run with are refused before anything starts.
func TestWatchHelpAndFlags(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"watch", "-h"}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"-db", "-rpc", "-adjudicator", "-eth-asset-holder", "-erc20-asset-holders", "-keystore", "-key-env", "-listen", "-check-concurrency", watchTokenEnv, "POST /v1/watch"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("watch -h does not mention %s:\n%s", want, out.String())
		}
	}
	t.Setenv("NITROWALLET_DATABASE_URL", "")
	t.Setenv("NITROWALLET_RPC_URL", "")
	t.Setenv(watchTokenEnv, "")
	addr := "0x" + strings.Repeat("ab", 20)
	good := []string{"-db", "postgres://x/y", "-rpc", "http://127.0.0.1:8545", "-adjudicator", addr, "-eth-asset-holder", addr}
	for _, c := range []struct {
		args []string
		want string
	}{
		{good[2:], "-db"},
		{append(append([]string{}, good[:2]...), good[4:]...), "-rpc"},
		{append(append([]string{}, good[:6]...), "-eth-asset-holder", "0x12"), "eth-asset-holder"},
		{append(append([]string{}, good...), "-listen", "127.0.0.1:0"), watchTokenEnv},
		{append(append([]string{}, good...), "-check-concurrency", "0"), "-check-concurrency"},
	} {
		_, err := parseWatch(c.args, &out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parseWatch(%q): %v, want an error about %s", c.args, err, c.want)
		}
	}
	t.Setenv(watchTokenEnv, "tok")
	o, err := parseWatch(append(append([]string{}, good...), "-listen", "127.0.0.1:0", "-erc20-asset-holders", addr+","+addr), &out)
	if err != nil || o.token != "tok" || len(o.contracts.ERC20AssetHolders) != 2 {
		t.Fatalf("parseWatch: %+v, %v", o, err)
	}
}

// TestWatchServes runs the command's server on PostgreSQL and the memory
// chain: a proof POSTed with the token is stored, a stale challenge is
// cleared with it, and the server stops cleanly with its context.
func TestWatchServes(t *testing.T) {
	url, schema := pgtest.Schema(t, "nwwatch")
	s, err := postgres.Open(context.Background(), url, postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	store := postgres.NewWatchStore(s)
	chain := memory.NewChain(big.NewInt(1337))
	gas := nitro.Address{0x77}
	chain.Fund(gas, big.NewInt(1e18))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- serveWatch(ctx, chain.Account(gas), store, ln, "tok", watchtower.Config{CheckInterval: 10 * time.Millisecond}, &out)
	}()

	p5 := watchtest.Proof(t, big.NewInt(1337), chain.ETHAssetHolder(), 1, 5)
	c := &watchtower.Client{URL: "http://" + ln.Addr().String(), Token: "tok"}
	deadline := time.Now().Add(5 * time.Second)
	for err = c.Watch(ctx, p5); err != nil; err = c.Watch(ctx, p5) {
		if time.Now().After(deadline) {
			t.Fatalf("POST proof: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if held, err := store.Get(ctx, p5.ChannelID); err != nil || held.Turn() != 5 {
		t.Fatalf("stored proof: turn %d, %v", held.Turn(), err)
	}
	stale := watchtest.Proof(t, big.NewInt(1337), chain.ETHAssetHolder(), 1, 3)
	h, _ := stale.Proof.States[0].Hash()
	sig, err := watchtest.Signers[1].SignState(ctx, nitro.ChallengeHash(h))
	if err != nil {
		t.Fatal(err)
	}
	b := chain.Account(watchtest.Signers[1].Address())
	chain.Fund(watchtest.Signers[1].Address(), big.NewInt(1e18))
	if _, err := b.Challenge(ctx, ports.ChallengeRequest{Proof: stale.Proof, ChallengerSignature: sig}); err != nil {
		t.Fatal(err)
	}
	for {
		rec, err := b.Record(ctx, p5.ChannelID)
		if err == nil && rec.TurnNumRecord == 5 && rec.FinalizesAt == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("record %+v (%v), want turn 5 cleared; log:\n%s", rec, err, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serveWatch: %v", err)
	}
}
