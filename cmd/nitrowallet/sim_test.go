package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSimWritesSummaryAndDiagram(t *testing.T) {
	dir := t.TempDir()
	diagram := filepath.Join(dir, "run.mmd")
	var out bytes.Buffer
	args := []string{"sim", "--wallets", "2", "--channels", "1", "--updates", "2", "--drop", "0.1", "--dup", "0.1", "--crash", "0.02", "--seed", "3", "--mermaid", diagram}
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatalf("sim: %v\n%s", err, out.String())
	}
	for _, want := range []string{"messages:", "retries:", "crashes:", "simulated time", "channels closed and paid out: 1", "all safety and liveness checks passed"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("summary lacks %q:\n%s", want, out.String())
		}
	}
	d, err := os.ReadFile(diagram)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sequenceDiagram", "A->>WalletA: createChannel(ch1)", "WalletA->>WalletB: ch1 turn 0 [A]", "Chain-->>WalletB: Deposited ch1", "ch1 closed"} {
		if !strings.Contains(string(d), want) {
			t.Fatalf("diagram lacks %q:\n%s", want, d)
		}
	}
	// The same flags give the same run.
	var again bytes.Buffer
	if err := run(context.Background(), append(args[:len(args)-1], filepath.Join(dir, "again.mmd")), &again); err != nil {
		t.Fatal(err)
	}
	d2, _ := os.ReadFile(filepath.Join(dir, "again.mmd"))
	if !bytes.Equal(d, d2) {
		t.Fatal("two runs with the same seed differ")
	}
}

func TestSimRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"sim", "--drop", "1.5"},
		{"sim", "--drop", "0.6", "--dup", "0.5"},
		{"sim", "--wallets", "1"},
		{"sim", "--nope"},
		{"sim", "--apps", "1.5"},
		{"sim", "--invalid", "1"},
	} {
		if err := run(context.Background(), args, &bytes.Buffer{}); err == nil {
			t.Fatalf("%v: want an error", args)
		}
	}
}

// TestSimWithAppsAndInvalidProposals: with every channel on
// SingleAssetPayments and peers proposing transitions it refuses, the run
// passes its checks, reports the refusals, draws the app channels, and the
// same flags give the same diagram.
func TestSimWithAppsAndInvalidProposals(t *testing.T) {
	dir := t.TempDir()
	args := []string{"sim", "--wallets", "3", "--channels", "2", "--updates", "4", "--apps", "1", "--invalid", "0.1", "--drop", "0.05", "--seed", "2", "--mermaid", filepath.Join(dir, "a.mmd")}
	var out bytes.Buffer
	if err := run(context.Background(), args, &out); err != nil {
		t.Fatalf("sim: %v\n%s", err, out.String())
	}
	for _, want := range []string{"apps: 1 of the channels run SingleAssetPayments", "app-invalid proposals:", "invalid transition:", "channels closed and paid out: 2", "all safety and liveness checks passed"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("summary lacks %q:\n%s", want, out.String())
		}
	}
	d, err := os.ReadFile(filepath.Join(dir, "a.mmd"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"createChannel(ch1, SingleAssetPayments)", "createChannel(ch2, SingleAssetPayments)", "takes"} {
		if !strings.Contains(string(d), want) {
			t.Fatalf("diagram lacks %q:\n%s", want, d)
		}
	}
	args[len(args)-1] = filepath.Join(dir, "b.mmd")
	if err := run(context.Background(), args, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if d2, _ := os.ReadFile(filepath.Join(dir, "b.mmd")); !bytes.Equal(d, d2) {
		t.Fatal("two runs with the same flags differ")
	}
}
