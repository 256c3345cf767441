package sim

import (
	"context"
	"fmt"
	"sync"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/apprules"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Channels with an app. A ChannelSpec with App names AppAddress as its
// appDefinition: the npm package's SingleAssetPayments (one asset, the
// mover may only pay others). A world with such a channel puts the app's
// runtime code at AppAddress on its chain and has every wallet register it
// (RegisterAppDefinition) at its first start; a restarted wallet finds it
// in its store. The world's own predictions step those channels with the
// same rule the wallets use (StepWith and apprules.ValidTransition of the
// same code), so predicted and committed results agree. Rules are
// functions: nothing renders them, the app is named by its address.

// AppAddress is the appDefinition of the world's app channels, where the
// world's chain holds SingleAssetPayments' runtime code.
var AppAddress = nitro.Address(crypto.Keccak256Hash([]byte("nitrowallet-sim-app-SingleAssetPayments")).Bytes()[12:])

// AppName names the app at AppAddress in traces.
const AppName = "SingleAssetPayments"

// appCode is SingleAssetPayments' runtime code and the app prepared from
// it, loaded once per process (a deployment on go-ethereum's simulated
// chain) and shared by every world: both are immutable once made, and an
// apprules.App is safe for concurrent use.
var appCode = sync.OnceValues(loadSingleAssetPayments)

type loadedApp struct {
	code []byte
	app  *apprules.App
}

// loadSingleAssetPayments deploys the npm artifact on a throwaway
// simulated chain and reads back the runtime code the EVM stored, the code
// the adjudicator would run.
func loadSingleAssetPayments() (loadedApp, error) {
	ctx := context.Background()
	art, err := ethereum.LoadArtifacts("")
	if err != nil {
		return loadedApp{}, fmt.Errorf("sim: load %s: %w", AppName, err)
	}
	apps, err := ethereum.LoadAppArtifacts("")
	if err != nil {
		return loadedApp{}, fmt.Errorf("sim: load %s: %w", AppName, err)
	}
	d, err := ethereum.NewDevChain(ctx, ethereum.DevOptions{Artifacts: art})
	if err != nil {
		return loadedApp{}, fmt.Errorf("sim: load %s: %w", AppName, err)
	}
	defer d.Close()
	addr, err := d.DeployApp(ctx, apps.SingleAssetPayments)
	if err != nil {
		return loadedApp{}, fmt.Errorf("sim: deploy %s: %w", AppName, err)
	}
	code, err := d.Backend.Client().CodeAt(ctx, addr, nil)
	if err != nil {
		return loadedApp{}, fmt.Errorf("sim: read %s's code: %w", AppName, err)
	}
	a, err := apprules.NewApp(AppAddress, code, apprules.Options{})
	if err != nil {
		return loadedApp{}, fmt.Errorf("sim: prepare %s: %w", AppName, err)
	}
	return loadedApp{code: code, app: a}, nil
}

// usesApps reports whether any channel of the configuration has an app.
func (c Config) usesApps() bool {
	for _, s := range c.Channels {
		if s.App {
			return true
		}
	}
	return false
}

// installApp puts the app's code on the world's chain (before the wallets
// start) when the configuration uses it.
func (w *World) installApp() error {
	if !w.cfg.usesApps() {
		return nil
	}
	l, err := appCode()
	if err != nil {
		return err
	}
	w.app = l.app
	w.Chain.SetCode(AppAddress, l.code)
	return nil
}

// registerApp has a wallet register the app at its first start.
func (w *World) registerApp(wal *Wallet) error {
	if w.app == nil {
		return nil
	}
	if err := wal.app.RegisterAppDefinition(w.ctx, AppAddress); err != nil {
		return fmt.Errorf("sim: wallet %s registers %s: %w", wal.Name, AppName, err)
	}
	return nil
}

// errUnregistered is the world's verdict on a transition of an app no
// wallet registered (as the wallets refuse them).
var errUnregistered = fmt.Errorf("sim: app not registered")

// ruleFor is the transition rule the wallets apply to channels whose
// appDefinition is def (app.Wallet's ruleFor): none for the zero address
// (the core's no-app rule), the app's validTransition for AppAddress, and a
// refusal for any other app.
func (w *World) ruleFor(def nitro.Address) core.TransitionRule {
	switch {
	case def == (nitro.Address{}):
		return nil
	case def == AppAddress && w.app != nil:
		a := w.app
		return func(from, to nitro.State) error { return apprules.ValidTransition(from, to, a) }
	default:
		return func(from, to nitro.State) error { return errUnregistered }
	}
}

// step is core.StepWith with the rule of c's app, or, for a channel not
// known yet, of the app a received message names: what the wallet's app
// layer does.
func (w *World) step(c core.Channel, in core.Input) (core.Channel, []core.Effect, error) {
	def := c.Setup.AppDefinition
	if r, ok := in.(core.Receive); ok && c.ID == (nitro.Bytes32{}) && len(r.States) > 0 {
		def = r.States[0].State.AppDefinition
	}
	return core.StepWith(c, in, w.ruleFor(def))
}
