package loopback_test

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/pgtest/loopback"
	"github.com/nitrowallet/nitrowallet/ports"
)

// TestLoopback: the client behaves as the in-process chain account does,
// errors keep their identity and events stream from a cursor.
func TestLoopback(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	chain := memory.NewChain(big.NewInt(1337))
	srv := loopback.NewServer(chain)
	defer srv.Close()
	from := nitro.Address{0xa}
	chain.Fund(from, big.NewInt(100))
	c, err := loopback.DialChain(ctx, srv.URL(), from)
	if err != nil {
		t.Fatal(err)
	}
	if c.ChainID().Int64() != 1337 {
		t.Fatalf("chain id %v", c.ChainID())
	}
	id := nitro.Bytes32{0xc1}
	eth := chain.ETHAssetHolder()
	if _, err := c.Deposit(ctx, ports.DepositRequest{ChannelID: id, Asset: eth, ExpectedHeld: big.NewInt(0), Amount: big.NewInt(5)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Deposit(ctx, ports.DepositRequest{ChannelID: id, Asset: eth, ExpectedHeld: big.NewInt(0), Amount: big.NewInt(5)})
	var rev *ports.RevertError
	if !errors.As(err, &rev) || rev.Reason != ports.ReasonHoldingsSufficient || !errors.Is(err, ports.ErrReverted) {
		t.Fatalf("repeated deposit: %v", err)
	}
	if _, err := c.Deposit(ctx, ports.DepositRequest{ChannelID: id, Asset: eth, ExpectedHeld: big.NewInt(5), Amount: big.NewInt(500)}); !errors.Is(err, ports.ErrInsufficientFunds) {
		t.Fatalf("deposit beyond balance: %v", err)
	}
	if h, err := c.Holdings(ctx, eth, id); err != nil || h.Int64() != 5 {
		t.Fatalf("holdings %v, %v", h, err)
	}
	evs, err := c.Events(ctx, ports.Cursor{Block: 0})
	if err != nil {
		t.Fatal(err)
	}
	ev := <-evs
	if ev.Kind != core.EventDeposited || ev.Holdings.Int64() != 5 || ev.ChannelID != id {
		t.Fatalf("event %+v", ev)
	}
	mail := loopback.NewMail(srv.URL())
	if err := mail.Send(ctx, "B", []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if data, ok, err := mail.Recv(ctx, "B", time.Second); err != nil || !ok || string(data) != "hello" {
		t.Fatalf("recv %q %v %v", data, ok, err)
	}
	if _, ok, err := mail.Recv(ctx, "B", 10*time.Millisecond); err != nil || ok {
		t.Fatalf("empty mailbox: %v %v", ok, err)
	}
}
