package main

import (
	"context"
	"fmt"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// benchApp is an app the benchmark channels name as their appDefinition:
// its address and its runtime code, registered on both wallets.
type benchApp struct {
	name string
	addr nitro.Address
	code []byte
}

// benchSingleAssetPayments returns the npm package's SingleAssetPayments
// (the mover may only pay: each update lowers the mover's item and raises
// the other's by as much) with the runtime code its artifact carries
// (checked equal to the deployed code in apprules'
// TestArtifactRuntimeIsDeployedCode). It needs no chain: the wallets run
// the code locally, and the memory chain never calls it.
func benchSingleAssetPayments() (benchApp, error) {
	apps, err := ethereum.LoadAppArtifacts("")
	if err != nil {
		return benchApp{}, err
	}
	code := apps.SingleAssetPayments.Runtime
	if len(code) == 0 {
		return benchApp{}, fmt.Errorf("bench: the SingleAssetPayments artifact has no deployedBytecode")
	}
	addr := nitro.Address(crypto.Keccak256([]byte("nitrowallet-bench-SingleAssetPayments"))[12:])
	return benchApp{name: "SingleAssetPayments", addr: addr, code: code}, nil
}

// useApp registers the app on both wallets; the channels created from then
// on name it as their appDefinition. The updates (benchPair.update) suit
// SingleAssetPayments: the mover pays the other one wei.
func (p *benchPair) useApp(ctx context.Context, a benchApp) error {
	for _, q := range p.parties {
		if err := q.w.RegisterAppBytecode(ctx, a.addr, a.code); err != nil {
			return fmt.Errorf("bench: register %s on %s: %w", a.name, q.name, err)
		}
	}
	p.appDef = a.addr
	return nil
}
