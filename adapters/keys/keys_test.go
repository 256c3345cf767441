package keys_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/keys"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

const hexKey = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"

func TestSignerRecovers(t *testing.T) {
	key, err := keys.ParseHex("0x" + hexKey)
	if err != nil {
		t.Fatal(err)
	}
	s := keys.NewSigner(key)
	if got, want := s.Address(), crypto.PubkeyToAddress(key.PublicKey); got != want {
		t.Fatalf("address %s, want %s", got, want)
	}
	h := nitro.Bytes32{1, 2, 3}
	sig, err := s.SignState(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}
	if sig.V != 27 && sig.V != 28 {
		t.Fatalf("v = %d, want 27 or 28", sig.V)
	}
	who, err := nitro.RecoverSigner(h, sig)
	if err != nil || who != s.Address() {
		t.Fatalf("recovered %s (%v), want %s", who, err, s.Address())
	}
	again, _ := s.SignState(context.Background(), h)
	if again != sig {
		t.Fatal("signing the same hash twice gave two signatures")
	}
}

func TestParseHexRejects(t *testing.T) {
	for _, in := range []string{"", "0x", hexKey[:62], hexKey + "00", strings.Repeat("zz", 32), strings.Repeat("0", 64), strings.Repeat("f", 64)} {
		if _, err := keys.ParseHex(in); !errors.Is(err, keys.ErrMalformedKey) {
			t.Errorf("ParseHex(%q) = %v, want ErrMalformedKey", in, err)
		}
	}
}

func TestFromEnv(t *testing.T) {
	const name = "NITROWALLET_TEST_PRIVATE_KEY"
	t.Setenv(name, "")
	if _, err := keys.FromEnv(name); !errors.Is(err, keys.ErrNoKey) {
		t.Fatalf("empty: %v, want ErrNoKey", err)
	}
	t.Setenv(name, "0xnothex")
	_, err := keys.FromEnv(name)
	if !errors.Is(err, keys.ErrMalformedKey) {
		t.Fatalf("malformed: %v, want ErrMalformedKey", err)
	}
	if strings.Contains(err.Error(), "nothex") {
		t.Fatalf("the error shows the variable's value: %v", err)
	}
	t.Setenv(name, hexKey+"\n")
	key, err := keys.FromEnv(name)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := keys.ParseHex(hexKey)
	if !key.Equal(want) {
		t.Fatal("FromEnv gave another key")
	}
}

func TestLoadKeystore(t *testing.T) {
	key, _ := keys.ParseHex(hexKey)
	data, err := keystore.EncryptKey(&keystore.Key{Address: crypto.PubkeyToAddress(key.PublicKey), PrivateKey: key},
		"correct horse", keystore.LightScryptN, keystore.LightScryptP)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "key.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := keys.LoadKeystore(path, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(key) {
		t.Fatal("LoadKeystore gave another key")
	}
	if _, err := keys.LoadKeystore(path, "wrong"); !errors.Is(err, keys.ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if _, err := keys.LoadKeystore(filepath.Join(dir, "missing.json"), "x"); !errors.Is(err, keys.ErrNoKey) {
		t.Fatalf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.json")
	for _, content := range []string{"{", `{"version":3}`, strings.Repeat(" ", 70<<10)} {
		if err := os.WriteFile(bad, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := keys.LoadKeystore(bad, "x"); !errors.Is(err, keys.ErrMalformedKey) {
			t.Errorf("content %.20q: %v, want ErrMalformedKey", content, err)
		}
	}
}
