package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/keys"
)

func TestDemoPrintsSeedPathAndBalances(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"demo", "-m", "2", "-chain", "memory", "-mermaid", ""}, &out); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"WalletA-->>A: " /* statuses in order: */, ": opening", ": proposed", ": funding", ": running", ": closing", ": closed",
		"MessageQueued", "AllocationUpdated",
		"final balances: A's destination 5 wei, B's destination 3 wei; channel holds 0",
	} {
		if !strings.Contains(s, want) {
			t.Fatalf("demo output lacks %q:\n%s", want, s)
		}
	}
	if strings.Index(s, ": opening") > strings.Index(s, ": funding") || strings.Index(s, ": funding") > strings.Index(s, ": running") ||
		strings.Index(s, ": running") > strings.Index(s, ": closing") {
		t.Fatal("statuses out of order")
	}
}

func TestUnknownCommand(t *testing.T) {
	if err := run(context.Background(), []string{"nope"}, &bytes.Buffer{}); err == nil {
		t.Fatal("want an error")
	}
	if err := run(context.Background(), nil, &bytes.Buffer{}); err == nil {
		t.Fatal("want usage error")
	}
}

func TestAddressFromEnvAndKeystore(t *testing.T) {
	const hexKey = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
	key, err := keys.ParseHex(hexKey)
	if err != nil {
		t.Fatal(err)
	}
	want := crypto.PubkeyToAddress(key.PublicKey).Hex()

	t.Setenv("NITROWALLET_PRIVATE_KEY", hexKey)
	var out bytes.Buffer
	if err := run(context.Background(), []string{"address"}, &out); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != want {
		t.Fatalf("from the environment: %s, want %s", got, want)
	}

	data, err := keystore.EncryptKey(&keystore.Key{Address: crypto.PubkeyToAddress(key.PublicKey), PrivateKey: key}, "pw", keystore.LightScryptN, keystore.LightScryptP)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NITROWALLET_PRIVATE_KEY", "")
	t.Setenv("NITROWALLET_PASSPHRASE", "pw")
	out.Reset()
	if err := run(context.Background(), []string{"address", "-keystore", path}, &out); err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out.String()); got != want {
		t.Fatalf("from the keystore: %s, want %s", got, want)
	}
	t.Setenv("NITROWALLET_PASSPHRASE", "wrong")
	if err := run(context.Background(), []string{"address", "-keystore", path}, &out); !errors.Is(err, keys.ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if err := run(context.Background(), []string{"address"}, &out); !errors.Is(err, keys.ErrNoKey) {
		t.Fatalf("no key: %v", err)
	}
}
