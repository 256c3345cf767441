package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/keys"
)

// TestServeHelpDocumentsEveryFlag checks that serve -h and docs/serve.md
// name every flag and its environment variable.
func TestServeHelpDocumentsEveryFlag(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"serve", "-h"}, &out); err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "serve.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range serveFlags {
		if !strings.Contains(out.String(), "  -"+f.name) || !strings.Contains(out.String(), "$"+f.env) {
			t.Errorf("serve -h does not document -%s and $%s:\n%s", f.name, f.env, out.String())
		}
		if !strings.Contains(string(doc), "`--"+f.name) || !strings.Contains(string(doc), f.env) {
			t.Errorf("docs/serve.md does not document --%s and %s", f.name, f.env)
		}
	}
	for _, env := range []string{keyEnv, passphraseEnv, tokenEnv} {
		if !strings.Contains(out.String(), env) || !strings.Contains(string(doc), env) {
			t.Errorf("serve -h or docs/serve.md does not mention %s", env)
		}
	}
}

// TestServeRefusesBadConfiguration: every bad setting is refused with
// errServeConfig before anything starts.
func TestServeRefusesBadConfiguration(t *testing.T) {
	const adj, eth = "0x00000000000000000000000000000000000000a1", "0x00000000000000000000000000000000000000e1"
	full := []string{"--store", "memory", "--chain", "http://127.0.0.1:1", "--adjudicator", adj, "--eth-asset-holder", eth}
	for name, args := range map[string][]string{
		"no store":          {"--chain", "http://127.0.0.1:1", "--adjudicator", adj, "--eth-asset-holder", eth},
		"unknown store":     {"--store", "mysql://x", "--chain", "http://127.0.0.1:1", "--adjudicator", adj, "--eth-asset-holder", eth},
		"no chain":          {"--store", "memory", "--adjudicator", adj, "--eth-asset-holder", eth},
		"bad adjudicator":   {"--store", "memory", "--chain", "http://127.0.0.1:1", "--adjudicator", "0x12", "--eth-asset-holder", eth},
		"no asset holder":   {"--store", "memory", "--chain", "http://127.0.0.1:1", "--adjudicator", adj},
		"bad erc20 holder":  append(full, "--erc20-asset-holder", adj+",nope"),
		"cert without key":  append(full, "--tls-cert", "c.pem"),
		"bad poll interval": append(full, "--poll-interval", "-1s"),
		"no channel cache":  append(full, "--channel-cache", "0"),
		"nothing held":      append(full, "--held-mib", "0"),
		"too much held":     append(full, "--held-mib", "16385"),
		"dev with a chain":  {"--dev", "--chain", "http://127.0.0.1:1"},
		"dev with postgres": {"--dev", "--store", "postgres://x/y"},
		"arguments":         {"--dev", "extra"},
	} {
		if _, err := parseServe(args, io.Discard); !errors.Is(err, errServeConfig) {
			t.Errorf("%s: %v, want errServeConfig", name, err)
		}
	}
	t.Setenv("NITROWALLET_STORE", "memory")
	t.Setenv("NITROWALLET_ERC20_ASSET_HOLDER", adj+", "+eth)
	if o, err := parseServe(full, io.Discard); err != nil || o.heldMiB != 64 {
		t.Fatalf("default --held-mib: %d, %v", o.heldMiB, err)
	}
	t.Setenv("NITROWALLET_HELD_MIB", "8")
	o, err := parseServe(full[2:], io.Discard) // the store from the environment
	if err != nil || o.store != "memory" || len(o.contracts.ERC20AssetHolders) != 2 || o.cache != 4096 || o.heldMiB != 8 {
		t.Fatalf("from the environment: %+v, %v", o, err)
	}
	t.Setenv("NITROWALLET_DEV", "maybe")
	if _, err := parseServe(nil, io.Discard); !errors.Is(err, errServeConfig) {
		t.Fatalf("NITROWALLET_DEV=maybe: %v", err)
	}
}

// TestServeToken: the environment's token wins; otherwise the file's, which
// is created 0600 on first use and read back after; a file others may read,
// or a short token, is refused.
func TestServeToken(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "token")
	tok, created, err := loadToken("", path)
	if err != nil || !created || len(tok) != 64 {
		t.Fatalf("first start: %q, %v, %v", tok, created, err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, %v", st.Mode(), err)
	}
	again, created, err := loadToken("", path)
	if err != nil || created || again != tok {
		t.Fatalf("second start: %q (created %v, %v), want the first token", again, created, err)
	}
	env := strings.Repeat("e", minTokenLen)
	if got, _, err := loadToken(env, path); err != nil || got != env {
		t.Fatalf("the environment's token: %q, %v", got, err)
	}
	if _, _, err := loadToken("short", path); !errors.Is(err, errServeConfig) {
		t.Fatalf("short token from the environment: %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadToken("", path); !errors.Is(err, errServeConfig) {
		t.Fatalf("token file readable by others: %v", err)
	}
	short := filepath.Join(dir, "short")
	if err := os.WriteFile(short, []byte("abc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadToken("", short); !errors.Is(err, errServeConfig) {
		t.Fatalf("short token file: %v", err)
	}
}

// TestServeDev runs `serve --dev` in process: it prints the dev chain, the
// wallet and its token, serves /healthz and /readyz (store and chain
// reachable), refuses an unauthenticated call, and returns nil when its
// context ends (as on SIGTERM).
func TestServeDev(t *testing.T) {
	for _, v := range []string{"NITROWALLET_TOKEN", "NITROWALLET_KEY", "NITROWALLET_KEYSTORE"} {
		t.Setenv(v, "")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--dev", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir()}, pw)
		_ = pw.Close()
	}()
	var printed strings.Builder
	var addr string
	sc := bufio.NewScanner(pr)
	for addr == "" && sc.Scan() {
		printed.WriteString(sc.Text() + "\n")
		if a, ok := strings.CutPrefix(sc.Text(), "listening on http://"); ok {
			addr = a
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if addr == "" {
		t.Fatalf("serve --dev stopped before listening: %v\n%s", <-done, printed.String())
	}
	for _, want := range []string{"dev: simulated chain (chain id 1337): NitroAdjudicator 0x", "funded with 1000 ETH", "token: "} {
		if !strings.Contains(printed.String(), want) {
			t.Errorf("serve --dev printed no %q:\n%s", want, printed.String())
		}
	}
	for path, want := range map[string]int{"/healthz": http.StatusOK, "/readyz": http.StatusOK} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	resp, err := http.Post("http://"+addr+"/api", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"GetWalletInformation"}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a call without the token: HTTP %d, want 401", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve --dev after its context ended: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve --dev did not return 30 s after its context ended")
	}
}

// TestServeKey: the signing key comes from the keystore with its
// passphrase in the environment, else from $NITROWALLET_KEY; --dev makes
// a fresh one when neither is given; without one serve refuses to start.
func TestServeKey(t *testing.T) {
	const hexKey = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
	key, err := keys.ParseHex(hexKey)
	if err != nil {
		t.Fatal(err)
	}
	want := crypto.PubkeyToAddress(key.PublicKey)
	data, err := keystore.EncryptKey(&keystore.Key{Address: want, PrivateKey: key}, "pw", keystore.LightScryptN, keystore.LightScryptP)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(keyEnv, "")
	t.Setenv(passphraseEnv, "pw")
	if k, err := serveKey(serveOptions{keystore: path}); err != nil || crypto.PubkeyToAddress(k.PublicKey) != want {
		t.Fatalf("from the keystore: %v", err)
	}
	t.Setenv(passphraseEnv, "wrong")
	if _, err := serveKey(serveOptions{keystore: path}); !errors.Is(err, keys.ErrWrongPassphrase) {
		t.Fatalf("wrong passphrase: %v", err)
	}
	if _, err := serveKey(serveOptions{}); !errors.Is(err, keys.ErrNoKey) {
		t.Fatalf("no key: %v", err)
	}
	k1, err := serveKey(serveOptions{dev: true})
	if err != nil || crypto.PubkeyToAddress(k1.PublicKey) == want {
		t.Fatalf("--dev without a key: %v", err)
	}
	t.Setenv(keyEnv, hexKey)
	if k, err := serveKey(serveOptions{dev: true}); err != nil || crypto.PubkeyToAddress(k.PublicKey) != want {
		t.Fatalf("--dev with $%s: %v", keyEnv, err)
	}
	// The whole command refuses to start without a key, before it serves.
	t.Setenv(keyEnv, "")
	err = run(context.Background(), []string{"serve", "--store", "memory", "--chain", "http://127.0.0.1:1",
		"--adjudicator", "0x00000000000000000000000000000000000000a1", "--eth-asset-holder", "0x00000000000000000000000000000000000000e1",
		"--data-dir", t.TempDir()}, io.Discard)
	if !errors.Is(err, keys.ErrNoKey) {
		t.Fatalf("serve without a key: %v", err)
	}
}
