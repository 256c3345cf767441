package app_test

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// exportedErrVars returns, for the non-test Go files of dir, every exported
// package-level variable named Err*, mapped to its value's expression.
func exportedErrVars(t *testing.T, dir string) map[string]ast.Expr {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]ast.Expr{}
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if strings.HasPrefix(n.Name, "Err") && n.IsExported() {
						var v ast.Expr
						if i < len(vs.Values) {
							v = vs.Values[i]
						}
						out[n.Name] = v
					}
				}
			}
		}
	}
	return out
}

// TestEveryCoreErrorReexported fails whenever the core or the wire codec
// has an exported Err* that app does not re-export (as app.X = core.Y or
// wire.Y), so an error a caller can get always has an app name.
func TestEveryCoreErrorReexported(t *testing.T) {
	reexported := map[string]bool{}
	for _, v := range exportedErrVars(t, ".") {
		if sel, ok := v.(*ast.SelectorExpr); ok {
			if pkg, ok := sel.X.(*ast.Ident); ok {
				reexported[pkg.Name+"."+sel.Sel.Name] = true
			}
		}
	}
	for pkg, dir := range map[string]string{"core": "../core", "wire": "../core/wire"} {
		vars := exportedErrVars(t, dir)
		if len(vars) == 0 {
			t.Fatalf("no Err* found in %s: the test reads the wrong directory", dir)
		}
		for name := range vars {
			if !reexported[pkg+"."+name] {
				t.Errorf("%s.%s is not re-exported by app (add it to app/errors.go)", pkg, name)
			}
		}
	}
}

// appErrors are app's exported errors; TestAppErrorsListed keeps the list
// complete.
var appErrors = map[string]error{
	"ErrInvalidParams": app.ErrInvalidParams, "ErrChannelNotFound": app.ErrChannelNotFound,
	"ErrChannelExists": app.ErrChannelExists, "ErrNotParticipant": app.ErrNotParticipant,
	"ErrUnsupportedFunding": app.ErrUnsupportedFunding, "ErrNotYourTurn": app.ErrNotYourTurn,
	"ErrChannelClosed": app.ErrChannelClosed, "ErrNotRunning": app.ErrNotRunning,
	"ErrAlreadyJoined": app.ErrAlreadyJoined, "ErrDisputed": app.ErrDisputed, "ErrNoSupport": app.ErrNoSupport, "ErrNotOnChain": app.ErrNotOnChain, "ErrInvalidTransition": app.ErrInvalidTransition,
	"ErrWrongSigner": app.ErrWrongSigner, "ErrStaleState": app.ErrStaleState,
	"ErrConflictingState": app.ErrConflictingState, "ErrFutureState": app.ErrFutureState,
	"ErrSigningInProgress": app.ErrSigningInProgress, "ErrUnexpectedSignature": app.ErrUnexpectedSignature,
	"ErrFixedPartMismatch": app.ErrFixedPartMismatch, "ErrTotalsChanged": app.ErrTotalsChanged, "ErrAppRule": app.ErrAppRule, "ErrTakesFromOther": app.ErrTakesFromOther,
	"ErrSetupChanged": app.ErrSetupChanged, "ErrFinalOutcome": app.ErrFinalOutcome,
	"ErrInvalidOutcome": app.ErrInvalidOutcome, "ErrInvalidMessage": app.ErrInvalidMessage,
	"ErrMalformed": app.ErrMalformed, "ErrUnknownField": app.ErrUnknownField,
	"ErrMissingField": app.ErrMissingField, "ErrBadHex": app.ErrBadHex,
	"ErrOutOfRange": app.ErrOutOfRange, "ErrTooLarge": app.ErrTooLarge,
	"ErrChannelIDMismatch": app.ErrChannelIDMismatch, "ErrUnsupported": app.ErrUnsupported,
	"ErrClosed": app.ErrClosed, "ErrContextDone": app.ErrContextDone, "ErrIncomplete": app.ErrIncomplete,
	"ErrSigner": app.ErrSigner, "ErrStore": app.ErrStore,
	"ErrUnknownAsset": app.ErrUnknownAsset, "ErrInvalidHoldings": app.ErrInvalidHoldings,
	"ErrWrongRecipient": app.ErrWrongRecipient, "ErrUnusableChannel": app.ErrUnusableChannel,
	"ErrWrongChain": app.ErrWrongChain, "ErrUnknownAssetHolder": app.ErrUnknownAssetHolder,
	"ErrChallengeDuration": app.ErrChallengeDuration, "ErrEquivocation": app.ErrEquivocation,
	"ErrProtocolChanged": app.ErrProtocolChanged, "ErrWrongProtocol": app.ErrWrongProtocol,
	"ErrProposalRejected": app.ErrProposalRejected, "ErrTooManyProposals": app.ErrTooManyProposals,
	"ErrStoreUnavailable": app.ErrStoreUnavailable, "ErrStoreTimeout": app.ErrStoreTimeout, "ErrOutcomeUnknown": app.ErrOutcomeUnknown,
	"ErrInvalidAppDefinition": app.ErrInvalidAppDefinition, "ErrAppCodeConflict": app.ErrAppCodeConflict,
}

// TestAppErrorsListed: appErrors names every exported Err* of app.
func TestAppErrorsListed(t *testing.T) {
	for name := range exportedErrVars(t, ".") {
		if _, ok := appErrors[name]; !ok {
			t.Errorf("app.%s is missing from appErrors", name)
		}
	}
}

// wantAppError fails unless err matches want (an app sentinel) and has code.
func wantAppError(t *testing.T, what string, err, want error, code int) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err %v, want %v", what, err, want)
	}
	if got := app.Code(err); got != code {
		t.Fatalf("%s: code %d, want %d (err %v)", what, got, code, err)
	}
}

// faultyStore fails every call while failing is set, and can be told which
// nonce to give.
type faultyStore struct {
	ports.Store
	failing atomic.Bool
	nonce   atomic.Uint64 // when not zero, NextNonce returns it
}

var errStoreDown = errors.New("test: store unavailable")

func (s *faultyStore) Get(ctx context.Context, id nitro.Bytes32) (core.Channel, error) {
	if s.failing.Load() {
		return core.Channel{}, errStoreDown
	}
	return s.Store.Get(ctx, id)
}

func (s *faultyStore) List(ctx context.Context) ([]core.Channel, error) {
	if s.failing.Load() {
		return nil, errStoreDown
	}
	return s.Store.List(ctx)
}

func (s *faultyStore) Commit(ctx context.Context, ch []ports.Change) ([]ports.OutboxEntry, error) {
	if s.failing.Load() {
		return nil, errStoreDown
	}
	return s.Store.Commit(ctx, ch)
}

func (s *faultyStore) Pending(ctx context.Context) ([]ports.OutboxEntry, error) {
	if s.failing.Load() {
		return nil, errStoreDown
	}
	return s.Store.Pending(ctx)
}

func (s *faultyStore) NextNonce(ctx context.Context, ps []nitro.Address) (uint64, error) {
	if s.failing.Load() {
		return 0, errStoreDown
	}
	if n := s.nonce.Load(); n != 0 {
		return n, nil
	}
	return s.Store.NextNonce(ctx, ps)
}

// TestErrorsTypedPerEntryPoint: every error path of every entry point gives
// an app sentinel and the client API code where one exists, and changes
// nothing stored, on both stores.
func TestErrorsTypedPerEntryPoint(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		var g *gateSigner
		var faulty [2]*faultyStore
		e, id := openRunningWith(t, withStore(t, k, func(name string, c *app.Config) {
			withGate(&g)(name, c)
			f := &faultyStore{Store: c.Store}
			faulty[name[0]-'A'] = f
			c.Store = f
		}))
		A, B := e.parties[0], e.parties[1]
		ctx := e.ctx
		unknown := nitro.Bytes32{1, 2, 3}
		stranger := newEnv(t, 3).parties[2]
		update := func(w *app.Wallet, ch nitro.Bytes32, a, b int64) func() error {
			return func() error {
				_, err := w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: ch, Allocations: e.allocation(a, b)})
				return err
			}
		}
		push := func(w *app.Wallet, m core.Message) func() error {
			return func() error { _, err := w.PushMessage(ctx, encode(t, m)); return err }
		}
		// A proposal from B to A for a channel between B and a stranger.
		notMine := e.forged(id, 1, false, []int64{5, 3}, B)
		notMine.Recipient, notMine.Sender = "A", "B"
		ss := &notMine.Payload.SignedStates[0]
		ss.State.Participants = []nitro.Address{B.signer.Address(), stranger.signer.Address()}
		ss.Participants = slices.Clone(ss.Participants)
		ss.Participants[0].SigningAddress, ss.Participants[0].ParticipantID = B.signer.Address(), "B"
		ss.Participants[1].SigningAddress, ss.Participants[1].ParticipantID = stranger.signer.Address(), "C"
		ss.State.TurnNum = 0
		h, _ := ss.State.Hash()
		sig, _ := B.signer.SignState(ctx, h)
		ss.Signatures = []nitro.Signature{sig}
		conflicting := e.forged(id, 2, false, []int64{4, 4}, A)
		tooBigAppData := make([]byte, 1<<20)
		storeDown := func(p int, call func() error) func() error {
			return func() error {
				faulty[p].failing.Store(true)
				defer faulty[p].failing.Store(false)
				return call()
			}
		}
		cases := []struct {
			name string
			call func() error
			want error
			code int
		}{
			{"create: not a participant", func() error {
				_, err := A.w.CreateChannel(ctx, app.CreateChannelParams{Participants: newEnv(t, 3).participants()[1:], Allocations: e.allocation(1, 1)})
				return err
			}, app.ErrNotParticipant, app.CodeSigningAddressNotFound},
			{"create: channel exists", func() error {
				// A's k-th nonce is k*n + 0 (app.ChannelNonce): give the k
				// of the channel A has, every time.
				faulty[0].nonce.Store(storedNonce(t, e, A, id) / 2)
				defer faulty[0].nonce.Store(0)
				_, err := A.w.CreateChannel(ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(1, 1)})
				return err
			}, app.ErrChannelExists, app.CodeWalletError},
			{"create: store down", storeDown(0, func() error {
				_, err := A.w.CreateChannel(ctx, app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(1, 1)})
				return err
			}), app.ErrStore, app.CodeWalletError},
			{"join: unknown", func() error { _, err := B.w.JoinChannel(ctx, unknown); return err }, app.ErrChannelNotFound, app.CodeChannelNotFoundJoin},
			{"join: twice", func() error { _, err := B.w.JoinChannel(ctx, id); return err }, app.ErrAlreadyJoined, app.CodeInvalidTransitionJoin},
			{"update: unknown", update(A.w, unknown, 4, 4), app.ErrChannelNotFound, app.CodeChannelNotFoundUpdate},
			{"update: totals changed", update(A.w, id, 4, 5), app.ErrTotalsChanged, app.CodeInvalidTransition},
			{"update: negative amount", update(A.w, id, -1, 9), app.ErrInvalidParams, app.CodeInvalidTransition},
			{"update: huge appData", func() error {
				_, err := A.w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(4, 4), AppData: tooBigAppData})
				return err
			}, app.ErrInvalidParams, app.CodeInvalidAppData},
			{"update: not your turn", update(B.w, id, 4, 4), app.ErrNotYourTurn, app.CodeNotYourTurnUpdate},
			{"update: store down", storeDown(0, update(A.w, id, 4, 4)), app.ErrStore, app.CodeWalletError},
			{"close: unknown", func() error { _, err := A.w.CloseChannel(ctx, unknown); return err }, app.ErrChannelNotFound, app.CodeChannelNotFoundClose},
			{"close: not your turn", func() error { _, err := B.w.CloseChannel(ctx, id); return err }, app.ErrNotYourTurn, app.CodeNotYourTurnClose},
			{"sync: unknown", func() error { _, err := A.w.SyncChannel(ctx, unknown); return err }, app.ErrChannelNotFound, app.CodeChannelNotFoundSync},
			{"get state: unknown", func() error { _, err := A.w.GetState(ctx, unknown); return err }, app.ErrChannelNotFound, app.CodeChannelNotFoundGetState},
			{"get state: store down", storeDown(0, func() error { _, err := A.w.GetState(ctx, id); return err }), app.ErrStore, app.CodeWalletError},
			{"get channels: store down", storeDown(0, func() error { _, err := A.w.GetChannels(ctx); return err }), app.ErrStore, app.CodeWalletError},
			{"tick: store down", storeDown(0, func() error { return A.w.Tick(ctx) }), app.ErrStore, app.CodeWalletError},
			{"push: not a participant", push(A.w, notMine), app.ErrNotParticipant, app.CodeWrongParticipant},
			{"push: conflicting setup state", push(B.w, conflicting), app.ErrConflictingState, app.CodeWalletError},
			{"push: wrong signer", push(B.w, e.forged(id, 4, false, []int64{4, 4}, B)), app.ErrWrongSigner, app.CodeWalletError},
			{"push: totals changed", push(B.w, e.forged(id, 4, false, []int64{4, 5}, A)), app.ErrTotalsChanged, app.CodeWalletError},
			{"push: malformed", func() error { _, err := B.w.PushMessage(ctx, []byte(`{"recipient":`)); return err }, app.ErrMalformed, app.CodeWalletError},
			{"push: store down", storeDown(1, push(B.w, e.forged(id, 4, false, []int64{4, 4}, A))), app.ErrStore, app.CodeWalletError},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				beforeA, beforeB := e.snap(A), e.snap(B)
				wantAppError(t, tc.name, tc.call(), tc.want, tc.code)
				if !reflect.DeepEqual(beforeA, e.snap(A)) || !reflect.DeepEqual(beforeB, e.snap(B)) {
					t.Fatal("stored state changed")
				}
			})
		}
		t.Run("push: too many future states", func(t *testing.T) {
			var err error
			for turn := uint64(6); err == nil && turn < 6+2*(core.MaxHeldStates+1); turn += 2 {
				_, err = B.w.PushMessage(ctx, encode(t, e.forged(id, turn, false, []int64{4, 4}, A)))
			}
			wantAppError(t, "future states", err, app.ErrFutureState, app.CodeWalletError)
		})
		// A state of A's waits for its signature: a different update or a
		// close is refused as not A's turn.
		g.fail()
		_, err := A.w.UpdateChannel(ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(4, 4)})
		wantAppError(t, "update with the signer down", err, app.ErrIncomplete, app.CodeWalletError)
		if !errors.Is(err, app.ErrSigner) {
			t.Fatalf("update with the signer down: %v, want ErrSigner too", err)
		}
		before := e.snap(A)
		wantAppError(t, "update while signing", update(A.w, id, 3, 5)(), app.ErrSigningInProgress, app.CodeNotYourTurnUpdate)
		_, err = A.w.CloseChannel(ctx, id)
		wantAppError(t, "close while signing", err, app.ErrSigningInProgress, app.CodeNotYourTurnClose)
		if !reflect.DeepEqual(before, e.snap(A)) {
			t.Fatal("stored state changed")
		}
	})
}

// storedNonce returns the nonce of a channel a party stores.
func storedNonce(t *testing.T, e *env, p *party, id nitro.Bytes32) uint64 {
	t.Helper()
	c, err := p.store.Get(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return c.Setup.ChannelNonce
}
