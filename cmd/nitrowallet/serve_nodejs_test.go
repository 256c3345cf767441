package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	neturl "net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

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
// The test checks the script's exit status, then the chain: each party's
// destination holds exactly what the final state allocates it.
func TestServeJSClientSeedPath(t *testing.T) {
	testkit.SkipIfShort(t, "builds the command and starts geth, two serve processes and node")
	node := jsNode(t)
	root := jsModuleRoot(t)
	bin := jsCommand(t)
	chain := jsStartGeth(t, root)

	var dep struct {
		Adjudicator    common.Address `json:"adjudicator"`
		ETHAssetHolder common.Address `json:"ethAssetHolder"`
		StartBlock     uint64         `json:"startBlock"`
	}
	out := jsRun(t, root, bin, nil, "deploy", "--chain", chain.url, "--token=false", "--poll-interval", "50ms")
	if err := json.Unmarshal(out, &dep); err != nil || dep.ETHAssetHolder == (common.Address{}) {
		t.Fatalf("nitrowallet deploy printed %q: %v", out, err)
	}

	type party struct {
		name, token string
		dest        common.Address
		srv         *jsServe
	}
	var ps []*party
	for _, name := range []string{"A", "B"} {
		key, err := crypto.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		chain.fund(t, crypto.PubkeyToAddress(key.PublicKey), new(big.Int).Mul(big.NewInt(10), big.NewInt(1e18)))
		p := &party{name: name, token: jsRandomHex(t, 16), dest: common.BytesToAddress(crypto.Keccak256([]byte(jsRandomHex(t, 8))))}
		keyHex := hex.EncodeToString(crypto.FromECDSA(key))
		p.srv = jsStartServe(t, bin, root, name, []string{"NITROWALLET_KEY=" + keyHex, "NITROWALLET_TOKEN=" + p.token},
			"serve", "--listen", "127.0.0.1:0", "--store", jsStoreURL(t, "nwservejs"+strings.ToLower(name)),
			"--chain", chain.url, "--dev-chain", "--poll-interval", "50ms",
			"--adjudicator", dep.Adjudicator.Hex(), "--eth-asset-holder", dep.ETHAssetHolder.Hex(),
			"--start-block", strconv.FormatUint(dep.StartBlock, 10), "--data-dir", t.TempDir())
		p.srv.secrets = []string{p.token, keyHex}
		ps = append(ps, p)
	}
	A, B := ps[0], ps[1]

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	script := exec.CommandContext(ctx, node, "serve-e2e.js")
	script.Dir = filepath.Join(root, "tools", "oracle")
	script.Env = append(os.Environ(),
		"NITROWALLET_A_URL=ws://"+A.srv.addr+"/api", "NITROWALLET_A_TOKEN="+A.token,
		"NITROWALLET_B_URL=ws://"+B.srv.addr+"/api", "NITROWALLET_B_TOKEN="+B.token,
		"NITROWALLET_ASSET_HOLDER="+dep.ETHAssetHolder.Hex(),
		"NITROWALLET_A_DESTINATION="+A.dest.Hex(), "NITROWALLET_B_DESTINATION="+B.dest.Hex(),
		"NITROWALLET_E2E_UPDATES="+strconv.Itoa(jsUpdates), "NITROWALLET_E2E_TIMEOUT_MS=60000")
	var stdout, stderr bytes.Buffer
	script.Stdout, script.Stderr = &stdout, &stderr
	start := time.Now()
	if err := script.Run(); err != nil {
		t.Fatalf("serve-e2e.js: %v\nstderr:\n%s\nstdout:\n%s\nA's log:\n%s\nB's log:\n%s", err, stderr.String(), stdout.String(), A.srv.log(), B.srv.log())
	}
	t.Logf("serve-e2e.js passed in %v: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(stderr.String()))

	var sum struct {
		OK        bool              `json:"ok"`
		ChannelID string            `json:"channelId"`
		Final     map[string]string `json:"final"`
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &sum); err != nil || !sum.OK {
		t.Fatalf("serve-e2e.js summary %q: %v", stdout.String(), err)
	}
	// A deposits 5 and B 3; each round moves 1 wei from A to B.
	want := map[string]int64{"A": 5 - jsUpdates, "B": 3 + jsUpdates}
	for _, p := range ps {
		if sum.Final[p.name] != strconv.FormatInt(want[p.name], 10) {
			t.Errorf("serve-e2e.js says %s is owed %s, want %d", p.name, sum.Final[p.name], want[p.name])
		}
		if got := chain.balance(t, p.dest); got.Cmp(big.NewInt(want[p.name])) != 0 {
			t.Errorf("%s's destination %s holds %v wei on chain, want %d", p.name, p.dest, got, want[p.name])
		}
	}
	for _, p := range ps {
		p.srv.stop(t)
		for _, s := range p.srv.secrets {
			if strings.Contains(p.srv.log(), s) {
				t.Errorf("%s's log shows its token or key", p.name)
			}
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
	return node
}

func jsModuleRoot(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "tools", "oracle", "node_modules", "ws")); err != nil {
		t.Fatalf("tools/oracle's npm packages are not installed (run make oracle): %v", err)
	}
	return dir
}

// jsAsCommand, set to 1 in a process's environment, makes this package's
// test binary run as the nitrowallet command (see init below): the test
// starts real nitrowallet processes without linking a second 60 MB binary
// (that took 13 to 28 s of the test's time on a loaded machine).
const jsAsCommand = "NITROWALLET_TEST_AS_COMMAND"

// init runs the test binary as the command, as main does, when the
// environment asks for it; otherwise it does nothing.
func init() {
	if os.Getenv(jsAsCommand) != "1" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "nitrowallet:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// jsCommand is the path of a program that runs as the nitrowallet command
// when started with jsAsCommand=1 in its environment: this test binary.
func jsCommand(t *testing.T) string {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// jsRun runs the command to completion and returns its standard output.
func jsRun(t *testing.T, dir, bin string, env []string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, append(append(os.Environ(), jsAsCommand+"=1"), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nitrowallet %s: %v\n%s", args[0], err, stderr.String())
	}
	return out
}

func jsRandomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// jsStoreURL is the test database's URL with a fresh schema (dropped when
// the test ends) as its search_path.
func jsStoreURL(t *testing.T, prefix string) string {
	t.Helper()
	url, schema := pgtest.Schema(t, prefix)
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// jsGeth is a running geth --dev on loopback.
type jsGeth struct {
	url    string
	rpc    *rpc.Client
	client *ethclient.Client
	dev    common.Address
}

// jsStartGeth runs <root>/bin/geth (or $NITRO_GETH) --dev with blocks
// sealed on demand, and stops it when the test ends.
func jsStartGeth(t *testing.T, root string) *jsGeth {
	t.Helper()
	bin := os.Getenv("NITRO_GETH")
	if bin == "" {
		bin = filepath.Join(root, "bin", "geth")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("geth is missing (make geth builds it): %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	var logs jsLog
	cmd := exec.Command(bin, "--dev", "--dev.period", "0",
		"--http", "--http.addr", "127.0.0.1", "--http.port", strconv.Itoa(port), "--http.api", "eth,net,web3",
		"--ipcdisable", "--nodiscover", "--maxpeers", "0", "--port", "0", "--authrpc.port", "0",
		"--datadir", t.TempDir(), "--verbosity", "2")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("geth output:\n%s", logs.String())
		}
	})
	g := &jsGeth{url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		c, err := rpc.DialContext(ctx, g.url)
		if err == nil {
			var accounts []common.Address
			if err = c.CallContext(ctx, &accounts, "eth_accounts"); err == nil && len(accounts) > 0 {
				g.rpc, g.client, g.dev = c, ethclient.NewClient(c), accounts[0]
				t.Cleanup(c.Close)
				return g
			}
			c.Close()
		}
		select {
		case err := <-exited:
			t.Fatalf("geth exited: %v\n%s", err, logs.String())
		case <-ctx.Done():
			t.Fatalf("geth did not answer on %s: %v\n%s", g.url, err, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// fund sends wei from the dev account to addr and waits until the latest
// state shows it.
func (g *jsGeth) fund(t *testing.T, addr common.Address, wei *big.Int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var h common.Hash
	if err := g.rpc.CallContext(ctx, &h, "eth_sendTransaction", map[string]any{"from": g.dev, "to": addr, "value": (*hexutil.Big)(wei)}); err != nil {
		t.Fatal(err)
	}
	for {
		bal, err := g.client.BalanceAt(ctx, addr, nil)
		if err == nil && bal.Cmp(wei) >= 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("funding %s: balance %v, %v", addr, bal, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (g *jsGeth) balance(t *testing.T, a common.Address) *big.Int {
	t.Helper()
	b, err := g.client.BalanceAt(context.Background(), a, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jsServe is a running `nitrowallet serve` process.
type jsServe struct {
	name    string
	addr    string // host:port it listens on
	cmd     *exec.Cmd
	exited  chan error
	logs    *jsLog
	secrets []string
	stopped bool
}

// jsStartServe starts the command and waits for its "listening on
// http://ADDR" line; it is killed when the test ends if still running.
func jsStartServe(t *testing.T, bin, dir, name string, env []string, args ...string) *jsServe {
	t.Helper()
	s := &jsServe{name: name, logs: &jsLog{}, exited: make(chan error, 1)}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Dir, s.cmd.Env, s.cmd.Stderr = dir, append(append(os.Environ(), jsAsCommand+"=1"), env...), s.logs
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening on http://"); ok {
				select {
				case addr <- a:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		s.exited <- s.cmd.Wait()
	}()
	t.Cleanup(func() {
		if !s.stopped {
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("%s's log:\n%s", name, s.log())
		}
	})
	select {
	case s.addr = <-addr:
		return s
	case err := <-s.exited:
		s.stopped = true
		t.Fatalf("serve %s exited before listening: %v\n%s", name, err, s.log())
	case <-time.After(time.Minute):
		t.Fatalf("serve %s printed no \"listening on\" line in a minute\n%s", name, s.log())
	}
	return nil
}

// stop sends SIGTERM and expects a clean exit.
func (s *jsServe) stop(t *testing.T) {
	t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		s.stopped = true
		if err != nil {
			t.Errorf("serve %s on SIGTERM: %v", s.name, err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("serve %s still running 30 s after SIGTERM", s.name)
	}
}

func (s *jsServe) log() string { return s.logs.String() }

// jsLog is a goroutine-safe buffer for a process's output.
type jsLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *jsLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *jsLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
