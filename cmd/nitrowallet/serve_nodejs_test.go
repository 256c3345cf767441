package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/internal/pgtest"
	"github.com/nitrowallet/nitrowallet/internal/testkit"
)

// jsUpdates is how many rounds of A-then-B updates serve-e2e.js runs; each
// round moves 1 wei from A to B (A pays 2, B pays 1 back).
const jsUpdates = 2

// TestServeJSClientSeedPath is issue 14's proof that a Node.js backend can
// use `nitrowallet serve`: two serve processes on PostgreSQL share a
// geth --dev chain with the contracts `nitrowallet deploy` put there, and
// tools/oracle/serve-e2e.js (npm's json-rpc-2.0 and ws) drives them through
// the seed's whole path, carrying each MessageQueued to the other server.
// Each server is given a fresh --destination, which the script reads with
// GetWalletInformation. The test checks the script's exit status, then the
// chain: each destination holds exactly what the final state allocates it.
func TestServeJSClientSeedPath(t *testing.T) {
	testkit.SkipIfShort(t, "starts geth, two serve processes and node")
	node := jsNode(t)
	chain := startGethDev(t)
	dep := deployContracts(t, chain.url, serveEnv(), "--token=false")

	type party struct {
		name, token, key string
		dest             common.Address
		srv              *serveProc
	}
	var ps []*party
	for _, name := range []string{"A", "B"} {
		key, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		chain.fund(t, crypto.PubkeyToAddress(key.PublicKey), new(big.Int).Mul(big.NewInt(10), big.NewInt(1e18)))
		p := &party{name: name, token: jsRandomHex(t, 16), key: hex.EncodeToString(crypto.FromECDSA(key)),
			dest: common.BytesToAddress(crypto.Keccak256([]byte(jsRandomHex(t, 8))))}
		db, schema := pgtest.Schema(t, "nwservejs"+strings.ToLower(name))
		p.srv = startServe(t, name, serveEnv("NITROWALLET_KEY="+p.key, "NITROWALLET_TOKEN="+p.token),
			"--listen", "127.0.0.1:0", "--store", withSearchPath(t, db, schema),
			"--chain", chain.url, "--dev-chain", "--poll-interval", "50ms",
			"--adjudicator", dep.Adjudicator.Hex(), "--eth-asset-holder", dep.ETHAssetHolder.Hex(),
			"--start-block", strconv.FormatUint(dep.StartBlock, 10), "--data-dir", t.TempDir(),
			"--destination", p.dest.Hex())
		ps = append(ps, p)
	}
	A, B := ps[0], ps[1]

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	script := exec.CommandContext(ctx, node, "serve-e2e.js")
	script.Dir = filepath.Join(repoRoot, "tools", "oracle")
	script.Env = serveEnv(
		"NITROWALLET_A_URL=ws://"+A.srv.addr+"/api", "NITROWALLET_A_TOKEN="+A.token,
		"NITROWALLET_B_URL=ws://"+B.srv.addr+"/api", "NITROWALLET_B_TOKEN="+B.token,
		"NITROWALLET_ASSET_HOLDER="+dep.ETHAssetHolder.Hex(),
		"NITROWALLET_E2E_UPDATES="+strconv.Itoa(jsUpdates), "NITROWALLET_E2E_TIMEOUT_MS=60000")
	var stdout, stderr bytes.Buffer
	script.Stdout, script.Stderr = &stdout, &stderr
	start := time.Now()
	if err := script.Run(); err != nil {
		t.Fatalf("serve-e2e.js: %v\n%s%s", err, stderr.String(), stdout.String())
	}
	t.Logf("serve-e2e.js passed in %v: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(stderr.String()))

	var sum struct {
		OK           bool              `json:"ok"`
		ChannelID    string            `json:"channelId"`
		Destinations map[string]string `json:"destinations"`
		Final        map[string]string `json:"final"`
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil || !sum.OK {
		t.Fatalf("serve-e2e.js summary %q: %v", stdout.String(), err)
	}
	// A deposits 5 and B 3; each round moves 1 wei from A to B.
	want := map[string]int64{"A": 5 - jsUpdates, "B": 3 + jsUpdates}
	for _, p := range ps {
		// The script takes each party's destination from GetWalletInformation.
		if !strings.EqualFold(sum.Destinations[p.name], p.dest.Hex()) {
			t.Errorf("serve-e2e.js paid %s to %s, want its --destination %s", p.name, sum.Destinations[p.name], p.dest)
		}
		if sum.Final[p.name] != strconv.FormatInt(want[p.name], 10) {
			t.Errorf("serve-e2e.js says %s is owed %s, want %d", p.name, sum.Final[p.name], want[p.name])
		}
		got, err := chain.client.BalanceAt(ctx, p.dest, nil)
		if err != nil || got.Cmp(big.NewInt(want[p.name])) != 0 {
			t.Errorf("%s's destination %s holds %v wei on chain (%v), want %d", p.name, p.dest, got, err, want[p.name])
		}
	}
	for _, p := range ps {
		p.srv.stop(time.Minute)
		if l := p.srv.Stdout() + p.srv.Stderr(); strings.Contains(l, p.token) || strings.Contains(l, p.key) {
			t.Errorf("%s's output shows its token or key", p.name)
		}
	}
}

// jsNode finds node; without it the test is skipped, except in CI.
func jsNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is missing (install Node.js 20+ and npm)")
		}
		t.Skip("node is not installed: the JS client test needs Node.js 20+ (CI=true fails instead)")
	}
	if _, err := os.Stat(filepath.Join(repoRoot, "tools", "oracle", "node_modules", "json-rpc-2.0")); err != nil {
		t.Fatalf("tools/oracle's npm packages are not installed (make oracle): %v", err)
	}
	return node
}

func jsRandomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
