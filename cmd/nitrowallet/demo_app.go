package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/core/vm/runtime"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// The demo's channel runs SingleAssetPayments, the npm package's example
// app: each participant's item is its balance, and a mover may pay the
// others but never lower their balances. The demo deploys it, registers it
// in both wallets (A reads its code through its chain port, B registers
// the runtime code it builds itself from the artifact), and during the
// running phase shows one update the app refuses.

// demoAppName is the app the demo's channel uses.
const demoAppName = "SingleAssetPayments"

// setUpApp deploys SingleAssetPayments on the chain and registers it in both
// wallets; it returns the app's address, or the zero address (no app, with
// a line saying so) when the npm artifacts are missing, which only the
// memory chain runs without.
func (d *demoRun) setUpApp(ctx context.Context, chain chainBackend) (nitro.Address, error) {
	out := d.story.out
	apps, err := ethereum.LoadAppArtifacts("")
	if err != nil {
		fmt.Fprintf(out, "app: none (appDefinition 0, core/noapp.go's rule: the mover pays only): %v\n", err)
		return nitro.Address{}, nil
	}
	art := apps.SingleAssetPayments
	addr, err := chain.DeployApp(ctx, art)
	if err != nil {
		return nitro.Address{}, fmt.Errorf("demo: deploy %s: %w", demoAppName, err)
	}
	fmt.Fprintf(out, "chain: %s deployed at %s from the npm artifacts\n", demoAppName, addr.Hex())
	A, B := d.parties[0], d.parties[1]
	if err := A.w.RegisterAppDefinition(ctx, addr); err != nil {
		return nitro.Address{}, fmt.Errorf("demo: A: RegisterAppDefinition: %w", err)
	}
	fmt.Fprintf(out, "wallet A: RegisterAppDefinition(%s): %s registered, its code read through A's chain port\n", short20(addr), demoAppName)
	code, err := runtimeCode(art)
	if err != nil {
		return nitro.Address{}, err
	}
	if err := B.w.RegisterAppBytecode(ctx, addr, code); err != nil {
		return nitro.Address{}, fmt.Errorf("demo: B: RegisterAppBytecode: %w", err)
	}
	fmt.Fprintf(out, "wallet B: RegisterAppBytecode(%s, %d bytes): %s registered, code B built from the artifact\n", short20(addr), len(code), demoAppName)
	return addr, nil
}

// runtimeCode runs an artifact's creation code (no constructor arguments,
// as the npm package's apps take none) in a local EVM and returns the
// runtime code it deploys: what a wallet registers without asking a chain.
func runtimeCode(a ethereum.Artifact) ([]byte, error) {
	code, _, _, err := runtime.Create(a.Bytecode, nil)
	if err != nil {
		return nil, fmt.Errorf("demo: build %s's runtime code: %w", a.Name, err)
	}
	if len(code) == 0 {
		return nil, fmt.Errorf("demo: %s's creation code deploys no code", a.Name)
	}
	return code, nil
}

// refuse tells the update the running phase's story adds to the document:
// A, on its turn, proposes to take 1 wei of B's. A's wallet must refuse it
// before signing (app.ErrAppRule, code 401, no message) and keep the
// channel as it was; the lines are printed but not drawn, as the document
// has no such call.
func (d *demoRun) refuse(ctx context.Context, alloc func(a, b int64) []app.Allocation) error {
	p := d.parties[0]
	before, err := p.w.GetState(ctx, d.id)
	if err != nil {
		return err
	}
	a, b, err := twoItems(before)
	if err != nil {
		return err
	}
	d.story.aside(fmt.Sprintf("%s->>Wallet%s: updateChannel(A %d wei, B %d wei)", p.name, p.name, a+1, b-1),
		fmt.Sprintf("not in the document: %s takes 1 wei of B's", p.name))
	r, err := p.w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: d.id, Allocations: alloc(a+1, b-1)})
	switch {
	case err == nil:
		return fmt.Errorf("demo: %s's wallet signed an update that takes the other's money (outbox %d messages)", p.name, len(r.Outbox))
	case !errors.Is(err, app.ErrAppRule) || app.Code(err) != app.CodeInvalidTransition:
		return fmt.Errorf("demo: the update that takes the other's money: want app.ErrAppRule with code %d, got code %d: %w", app.CodeInvalidTransition, app.Code(err), err)
	case len(r.Outbox) > 0:
		return fmt.Errorf("demo: a refused update sent %d messages", len(r.Outbox))
	}
	d.story.aside(fmt.Sprintf("Wallet%s-->>%s: refused, error code %d", p.name, p.name, app.Code(err)), "app.ErrAppRule; nothing signed or sent")
	d.story.aside("", "  "+strings.ReplaceAll(err.Error(), d.id.Hex(), short(d.id)))
	after, err := p.w.GetState(ctx, d.id)
	if err != nil {
		return err
	}
	a2, b2, err := twoItems(after)
	if err != nil {
		return err
	}
	if after.TurnNum != before.TurnNum || after.Status != before.Status || a2 != a || b2 != b {
		return fmt.Errorf("demo: the refused update changed the channel: turn %d → %d, A %d → %d wei, B %d → %d wei", before.TurnNum, after.TurnNum, a, a2, b, b2)
	}
	d.story.aside(fmt.Sprintf("Wallet%s-->>%s: %s: %s, unchanged", p.name, p.name, short(d.id), after.Status),
		fmt.Sprintf("turn %d, A %d wei, B %d wei", after.TurnNum, a2, b2))
	return nil
}

// twoItems reads the demo channel's two allocation items, A's then B's.
func twoItems(c app.ChannelResult) (a, b int64, err error) {
	if len(c.Allocations) != 1 || len(c.Allocations[0].AllocationItems) != 2 {
		return 0, 0, fmt.Errorf("demo: channel %s has %d allocations, the story expects one of two items", short(c.ChannelID), len(c.Allocations))
	}
	items := c.Allocations[0].AllocationItems
	for _, it := range items {
		if it.Amount == nil || !it.Amount.IsInt64() {
			return 0, 0, fmt.Errorf("demo: channel %s has an allocation item out of the story's range", short(c.ChannelID))
		}
	}
	return items[0].Amount.Int64(), items[1].Amount.Int64(), nil
}

// short20 shortens an address as short does a channel id.
func short20(a nitro.Address) string { return a.Hex()[:10] }
