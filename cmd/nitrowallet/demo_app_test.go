package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
)

// checkApp checks what the demo adds to the founding document's story: it
// deploys SingleAssetPayments and registers it in both wallets (A by its
// address, B by its bytecode), the channel names it, and before A's first
// payment A's attempt to take 1 wei of B's is refused with code 401 and
// leaves the channel at turn 3, A 5 wei, B 3 wei. Those lines are printed
// but not drawn.
func checkApp(t *testing.T, r demoOutput, id string) {
	t.Helper()
	lines := strings.Split(r.out, "\n")
	find := func(re string, from int) int {
		t.Helper()
		rx := regexp.MustCompile(re)
		for i := from; i < len(lines); i++ {
			if rx.MatchString(lines[i]) {
				return i
			}
		}
		t.Fatalf("the output lacks a line matching %q after line %d:\n%s", re, from+1, r.out)
		return -1
	}
	deployed := lines[find(`^chain: SingleAssetPayments deployed at 0x[0-9a-fA-F]{40} `, 0)]
	addr := regexp.MustCompile(`0x[0-9a-fA-F]{40}`).FindString(deployed)
	regA := find(`^wallet A: RegisterAppDefinition\(`+regexp.QuoteMeta(addr[:10])+`\): SingleAssetPayments registered`, 0)
	regB := find(`^wallet B: RegisterAppBytecode\(`+regexp.QuoteMeta(addr[:10])+`, [1-9][0-9]* bytes\): SingleAssetPayments registered`, 0)
	create := find(`^A->>WalletA: createChannel\(\) .*; app SingleAssetPayments$`, 0)
	if regA > create || regB > create {
		t.Fatalf("the app is registered after createChannel (lines %d, %d, %d):\n%s", regA+1, regB+1, create+1, r.out)
	}

	running := find(`^# Running a channel$`, create)
	try := find(`^A->>WalletA: updateChannel\(A 6 wei, B 2 wei\) `, running)
	state4 := find(`^A->>WalletA: updateChannel\(state4\) `, running)
	if try > state4 {
		t.Fatalf("the refused update comes after A's first payment:\n%s", r.out)
	}
	for k, re := range []string{
		`^WalletA-->>A: refused, error code 401 +app\.ErrAppRule; nothing signed or sent$`,
		`^  channel ` + id + `: .*invalid transition.*"Nonmover balance decreased" \(code 401\)$`,
		`^WalletA-->>A: ` + id + `: running, unchanged +turn 3, A 5 wei, B 3 wei$`,
	} {
		if l := lines[try+1+k]; !regexp.MustCompile(re).MatchString(l) {
			t.Fatalf("line %d after the refused update is %q, want one matching %q:\n%s", k+1, l, re, r.out)
		}
	}
	if try+4 != state4 {
		t.Fatalf("the happy path does not go on right after the refusal (line %d, updateChannel(state4) at %d):\n%s", try+4, state4+1, r.out)
	}
	if strings.Contains(r.diagram, "A 6 wei") || strings.Contains(r.diagram, "refused") {
		t.Fatalf("the refused update is drawn; the founding document has no such call:\n%s", r.diagram)
	}
}

// TestDemoWithoutAppArtifacts: on the memory chain without the npm
// artifacts the channel has no app, says so, and the same update is
// refused by core/noapp.go's rule, with code 401 too.
func TestDemoWithoutAppArtifacts(t *testing.T) {
	t.Setenv(ethereum.ArtifactsEnv, t.TempDir())
	var out bytes.Buffer
	if err := run(context.Background(), []string{"demo", "-m", "1", "-chain", "memory", "-mermaid", ""}, &out); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"app: none (appDefinition 0",
		"WalletA-->>A: refused, error code 401",
		"may lower only its mover's allocations",
		": running, unchanged",
		"final balances: A's destination 5 wei, B's destination 3 wei; channel holds 0",
	} {
		if !strings.Contains(s, want) {
			t.Fatalf("demo output lacks %q:\n%s", want, s)
		}
	}
	for _, not := range []string{"RegisterApp", "app SingleAssetPayments"} {
		if strings.Contains(s, not) {
			t.Fatalf("demo output without the artifacts has %q:\n%s", not, s)
		}
	}
}

// TestDemoAppCodeIsDeployedCode: the runtime code B registers, built from
// the artifact in a local EVM, is byte for byte the code the simulated
// chain holds after the deployment (what A registers).
func TestDemoAppCodeIsDeployedCode(t *testing.T) {
	ctx := context.Background()
	apps, err := ethereum.LoadAppArtifacts("")
	if err != nil {
		t.Fatal(err)
	}
	b, err := newSimBackend(ctx, &bytes.Buffer{}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	addr, err := b.DeployApp(ctx, apps.SingleAssetPayments)
	if err != nil {
		t.Fatal(err)
	}
	onChain, err := b.client.CodeAt(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	built, err := runtimeCode(apps.SingleAssetPayments)
	if err != nil {
		t.Fatal(err)
	}
	if len(onChain) == 0 || !bytes.Equal(built, onChain) {
		t.Fatalf("built %d bytes, the chain holds %d bytes at %s; they differ", len(built), len(onChain), addr)
	}
}
