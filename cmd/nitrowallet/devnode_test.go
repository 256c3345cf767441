package main

import (
	"strings"
	"testing"
)

// TestDemoOnGethDev runs the demo on a geth --dev node over JSON-RPC: the
// node's unlocked account (devNode) funds the deployer and the wallets'
// accounts, and the app is deployed from it, as `nitrowallet deploy` uses
// it too.
func TestDemoOnGethDev(t *testing.T) {
	geth := startGethDev(t)
	r := runDemo(t, "-m", "1", "-chain", geth.url)
	for _, want := range []string{"chain: node at " + geth.url, "chain: NitroAdjudicator 0x",
		"final balances: A's destination 5 wei, B's destination 3 wei; channel holds 0"} {
		if !strings.Contains(r.out, want) {
			t.Fatalf("demo on geth --dev printed no %q:\n%s", want, r.out)
		}
	}
}
