package app_test

import (
	"bytes"
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/pgtest"
	"github.com/nitrowallet/nitrowallet/ports"
)

// trueApp is runtime code that returns true to any call.
var trueApp = []byte{0x60, 0x01, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3}

// reopenStore closes s and opens a store over the same data, as a
// restarted process would (the memory store is its own data).
func reopenStore(t *testing.T, s ports.Store) ports.Store {
	t.Helper()
	pg, ok := s.(*postgres.Store)
	if !ok {
		return s
	}
	if err := pg.Close(); err != nil {
		t.Fatal(err)
	}
	re, err := postgres.Open(context.Background(), pgtest.URL(), postgres.Options{Schema: pg.Schema(), LockWait: 5 * time.Second})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	t.Cleanup(func() { _ = re.Close() })
	return re
}

// wantRefused checks a refusal: code 1001, the typed cause, and nothing
// stored changed.
func wantRefused(t *testing.T, what string, err error, cause error, s ports.Store, before string) {
	t.Helper()
	wantAppError(t, what, err, cause, app.CodeInvalidAppDefinition)
	if after := durable(t, s); after != before {
		t.Fatalf("%s changed the store:\nbefore %s\nafter  %s", what, before, after)
	}
}

// TestRegisterAppDefinitionOnDevChain: an npm app deployed on the
// simulated chain is registered by its address (its code read through the
// chain port, stored as the chain holds it); an address without code is
// refused with code 1001 and nothing stored; other code for the address
// is refused; the registration survives a restart, so the restarted
// wallet creates a channel naming the app.
func TestRegisterAppDefinitionOnDevChain(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		ctx := context.Background()
		d, appAddr := devChainWithApp(t)
		onChain, err := d.Backend.Client().CodeAt(ctx, appAddr, nil)
		if err != nil || len(onChain) == 0 {
			t.Fatalf("deployed code: %d bytes, %v", len(onChain), err)
		}
		key, err := crypto.ToECDSA(crypto.Keccak256([]byte("app-test-register-definition")))
		if err != nil {
			t.Fatal(err)
		}
		chain, err := d.NewChain(ctx, key, ethereum.Config{})
		if err != nil {
			t.Fatal(err)
		}
		signer := memory.SignerFromSeed("app-test-register-definition")
		store := k.open(t)
		start := func() *app.Wallet {
			w, err := app.New(ctx, app.Config{Signer: signer, Store: store, Chain: chain, TickInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			return w
		}
		w := start()
		before := durable(t, store)
		err = w.RegisterAppDefinition(ctx, nitro.Address{0xde, 0xad})
		wantRefused(t, "register an address without code", err, app.ErrInvalidAppDefinition, store, before)
		err = w.RegisterAppDefinition(ctx, d.Deployment.ETHAssetHolder) // has code, and it is no app: still accepted
		if err != nil {
			t.Fatalf("register the asset holder's code: %v", err)
		}
		for i := 0; i < 2; i++ { // the second time: nothing to do
			if err := w.RegisterAppDefinition(ctx, appAddr); err != nil {
				t.Fatalf("RegisterAppDefinition(%s) #%d: %v", appAddr, i+1, err)
			}
		}
		stored, err := store.Apps(ctx)
		if err != nil || len(stored) != 2 {
			t.Fatalf("stored apps: %d, %v", len(stored), err)
		}
		if i := bytes.Compare(appAddr[:], d.Deployment.ETHAssetHolder[:]); i > 0 {
			stored[0] = stored[1]
		}
		if stored[0].Address != appAddr || !bytes.Equal(stored[0].Code, onChain) {
			t.Fatalf("stored app %s with %d bytes, want %s with the %d bytes on chain", stored[0].Address, len(stored[0].Code), appAddr, len(onChain))
		}
		before = durable(t, store)
		err = w.RegisterAppBytecode(ctx, appAddr, trueApp)
		wantRefused(t, "register other code for the app", err, app.ErrAppCodeConflict, store, before)
		_ = w.Close()

		store = reopenStore(t, store)
		w = start()
		defer w.Close()
		me := nitro.AddressToDestination(signer.Address())
		other := memory.SignerFromSeed("app-test-register-definition-peer").Address()
		_, err = w.CreateChannel(ctx, app.CreateChannelParams{
			Participants: []app.Participant{
				{ParticipantID: "me", SigningAddress: signer.Address(), Destination: me},
				{ParticipantID: "peer", SigningAddress: other, Destination: nitro.AddressToDestination(other)},
			},
			Allocations: []app.Allocation{{AssetHolderAddress: d.Deployment.ETHAssetHolder, AllocationItems: []app.AllocationItem{
				{Destination: me, Amount: big.NewInt(5)}, {Destination: nitro.AddressToDestination(other), Amount: big.NewInt(3)},
			}}},
			AppDefinition: appAddr,
		})
		if err != nil {
			t.Fatalf("after a restart, create with the registered app: %v", err)
		}
	})
}

// TestRegisterAppBytecode: code given directly is registered; the zero
// address, empty code and code over 24,576 bytes are refused with code
// 1001 and nothing stored; an app given to the memory chain with SetCode
// is registered by its address.
func TestRegisterAppBytecode(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e := newEnvWith(t, 1, withStore(t, k, nil))
		A := e.parties[0]
		before := A.durable(t)
		for _, c := range []struct {
			what string
			addr nitro.Address
			code []byte
		}{
			{"the zero address", nitro.Address{}, trueApp},
			{"empty code", nitro.Address{0xa1}, nil},
			{"code over EIP-170's limit", nitro.Address{0xa1}, make([]byte, ports.MaxAppCodeSize+1)},
		} {
			err := A.w.RegisterAppBytecode(e.ctx, c.addr, c.code)
			wantRefused(t, "register "+c.what, err, app.ErrInvalidAppDefinition, A.store, before)
		}
		if err := A.w.RegisterAppBytecode(e.ctx, nitro.Address{0xa1}, trueApp); err != nil {
			t.Fatal(err)
		}
		e.chain.SetCode(nitro.Address{0xa2}, trueApp[1:])
		if err := A.w.RegisterAppDefinition(e.ctx, nitro.Address{0xa2}); err != nil {
			t.Fatal(err)
		}
		stored, err := A.store.Apps(e.ctx)
		if err != nil || len(stored) != 2 || !bytes.Equal(stored[0].Code, trueApp) || !bytes.Equal(stored[1].Code, trueApp[1:]) {
			t.Fatalf("stored apps: %x, %v", stored, err)
		}
	})
}

// TestUnregisteredAppRefused: a channel naming an app the wallet has not
// registered is refused at create (code 1001) and, as a peer's proposal,
// at push (code 1001), storing nothing; once the app is registered both
// go through. appDefinition 0 (no app) needs no registration.
func TestUnregisteredAppRefused(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		e := newEnvWith(t, 2, withStore(t, k, nil))
		A, B := e.parties[0], e.parties[1]
		def := nitro.Address{0xa9, 0x9a}
		params := app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(5, 3), AppDefinition: def}
		before := A.durable(t)
		_, err := A.w.CreateChannel(e.ctx, params)
		wantRefused(t, "create with an unregistered app", err, app.ErrInvalidAppDefinition, A.store, before)

		if err := A.w.RegisterAppBytecode(e.ctx, def, trueApp); err != nil {
			t.Fatal(err)
		}
		r, err := A.w.CreateChannel(e.ctx, params)
		if err != nil {
			t.Fatalf("create with the registered app: %v", err)
		}
		id := r.ChannelResults[0].ChannelID
		before = B.durable(t)
		_, err = B.w.PushMessage(e.ctx, r.Outbox[0].Data)
		wantRefused(t, "push a proposal with an unregistered app", err, app.ErrInvalidAppDefinition, B.store, before)
		if cs, err := B.w.GetChannels(e.ctx); err != nil || len(cs) != 0 {
			t.Fatalf("B lists %d channels after the refusal (%v)", len(cs), err)
		}

		if err := B.w.RegisterAppBytecode(e.ctx, def, trueApp); err != nil {
			t.Fatal(err)
		}
		r = e.push(r.Outbox[0])
		wantStatus(t, "B on the proposal", one(t, r, id), core.StatusProposed, 0)
		if got := one(t, r, id).AppDefinition; got != def {
			t.Fatalf("proposal's appDefinition %s, want %s", got, def)
		}
		// appDefinition 0 needs no registration.
		params.AppDefinition = nitro.Address{}
		if _, err := A.w.CreateChannel(e.ctx, params); err != nil {
			t.Fatalf("create without an app: %v", err)
		}
	})
}
