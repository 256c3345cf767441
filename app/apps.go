package app

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nitrowallet/nitrowallet/apprules"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// RegisterAppDefinition registers the app deployed at addr: its runtime
// code is read through the chain port (eth_getCode, at the block the chain
// adapter counts as confirmed), checked and stored durably, and channels
// naming addr as their appDefinition are accepted from then on. An address
// without code is ErrInvalidAppDefinition (code 1001). Registering an app
// again with the same code does nothing.
func (w *Wallet) RegisterAppDefinition(ctx context.Context, addr nitro.Address) error {
	if err := w.enter(ctx); err != nil {
		return apiError(err)
	}
	defer w.leave()
	code, err := w.cfg.Chain.Code(ctx, addr)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w: %w", ErrContextDone, err)
		}
		return apiError(fmt.Errorf("app: read the code at %s: %w", addr, err))
	}
	if len(code) == 0 {
		return apiError(fmt.Errorf("%w: no code at %s", ErrInvalidAppDefinition, addr), appRule)
	}
	return apiError(w.registerApp(ctx, addr, code), appRule)
}

// RegisterAppBytecode registers code as the runtime code of the app at
// addr, without asking the chain: for apps not deployed yet, or a chain
// the wallet does not trust to serve code. The code is what the wallet
// will run for every transition of channels naming addr, so it must be
// the code deployed (or to be deployed) there, or the adjudicator and the
// wallet will judge transitions differently. Errors as
// RegisterAppDefinition.
func (w *Wallet) RegisterAppBytecode(ctx context.Context, addr nitro.Address, code []byte) error {
	if err := w.enter(ctx); err != nil {
		return apiError(err)
	}
	defer w.leave()
	return apiError(w.registerApp(ctx, addr, code), appRule)
}

// appRule gives registration refusals and unregistered apps their code.
var appRule = codeRule{ErrInvalidAppDefinition, CodeInvalidAppDefinition}

// registerApp checks code by preparing it as an apprules.App, stores it,
// then adds it to the wallet's registry.
func (w *Wallet) registerApp(ctx context.Context, addr nitro.Address, code []byte) error {
	if addr == (nitro.Address{}) {
		return fmt.Errorf("%w: the zero address means no app", ErrInvalidAppDefinition)
	}
	if err := ports.CheckAppCode(code); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidAppDefinition, addr, err)
	}
	a, err := apprules.NewApp(addr, code, apprules.Options{})
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrInvalidAppDefinition, addr, err)
	}
	if err := w.cfg.Store.RegisterApp(ctx, addr, code); err != nil {
		if errors.Is(err, ports.ErrAppCodeConflict) {
			return fmt.Errorf("%w: %s: %w", ErrInvalidAppDefinition, addr, err)
		}
		return storeErr("register app", err)
	}
	w.apps.add(a)
	w.log.Info("app registered", "app", addr, "bytes", len(code), "guarded", a.Guarded(), "native", a.Native())
	return nil
}

// requireApp returns ErrInvalidAppDefinition for a non-zero appDefinition
// that is not registered. The zero appDefinition (no app) passes: what it
// may do is decided with the transition rules (issue 12, item 4).
func (w *Wallet) requireApp(def nitro.Address) error {
	if def == (nitro.Address{}) {
		return nil
	}
	if _, ok := w.apps.get(def); !ok {
		return fmt.Errorf("%w: app %s is not registered (RegisterAppDefinition)", ErrInvalidAppDefinition, def)
	}
	return nil
}

// loadApps fills the registry with the stored apps (at New).
func (w *Wallet) loadApps(ctx context.Context) error {
	w.apps = &appRegistry{apps: map[nitro.Address]*apprules.App{}}
	stored, err := w.cfg.Store.Apps(ctx)
	if err != nil {
		return storeErr("read apps", err)
	}
	for _, s := range stored {
		a, err := apprules.NewApp(s.Address, s.Code, apprules.Options{})
		if err != nil {
			return fmt.Errorf("app: stored app %s: %w", s.Address, err)
		}
		w.apps.add(a)
	}
	return nil
}

// appRegistry holds the registered apps, prepared for local runs. Apps
// are only ever added: the answer for an address never changes once given.
type appRegistry struct {
	mu   sync.RWMutex
	apps map[nitro.Address]*apprules.App
}

func (r *appRegistry) get(addr nitro.Address) (*apprules.App, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	a, ok := r.apps[addr]
	return a, ok
}

// add keeps a unless its address already has an app (the store refused
// other code for it, so the one kept is the same).
func (r *appRegistry) add(a *apprules.App) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.apps[a.Address()]; !ok {
		r.apps[a.Address()] = a
	}
}

// ruleFor is the transition rule of channels whose appDefinition is def:
// the adjudicator's rule with the registered app's validTransition run in
// a local EVM (apprules). The zero appDefinition gets none (the core's
// protocol checks only; issue 12, item 4 decides its rule). An app that is
// not registered refuses every running transition: no state of it could
// be proven on chain here.
func (w *Wallet) ruleFor(def nitro.Address) core.TransitionRule {
	if def == (nitro.Address{}) {
		return nil
	}
	a, ok := w.apps.get(def)
	if !ok {
		return func(from, to nitro.State) error {
			return fmt.Errorf("%w: app %s is not registered", ErrInvalidAppDefinition, def)
		}
	}
	return func(from, to nitro.State) error { return apprules.ValidTransition(from, to, a) }
}

// step is core.StepWith with the rule of c's app (or, for a channel not
// known yet, of the app a received message names).
func (w *Wallet) step(c core.Channel, in core.Input) (core.Channel, []core.Effect, error) {
	def := c.Setup.AppDefinition
	if r, ok := in.(core.Receive); ok && c.ID == (nitro.Bytes32{}) && len(r.States) > 0 {
		def = r.States[0].State.AppDefinition
	}
	return core.StepWith(c, in, w.ruleFor(def))
}
