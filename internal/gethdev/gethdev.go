// Package gethdev runs the pinned go-ethereum node, `geth --dev`, on
// loopback for tests: its own data dir, a free port, blocks sealed on
// demand, stopped when the test ends.
package gethdev

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
)

// Version is the go-ethereum release the tests run; it is the version
// go.mod pins and `make geth` builds.
const Version = "v1.17.10"

// Env names a geth binary to use instead of <module root>/bin/geth.
const Env = "NITRO_GETH"

// Binary returns the pinned geth, building it into <module root>/bin
// (git-ignored) with `go install` if it is not there yet.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(Env); p != "" {
		return p
	}
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, "bin", "geth")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	t.Logf("building geth %s into %s (once; about 2 minutes)", Version, filepath.Dir(bin))
	cmd := exec.Command("go", "install", "github.com/ethereum/go-ethereum/cmd/geth@"+Version)
	cmd.Env = append(os.Environ(), "GOBIN="+filepath.Dir(bin))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install geth: %v\n%s", err, out)
	}
	return bin
}

// ModuleRoot is the folder of the go.mod above the working directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		if filepath.Dir(dir) == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = filepath.Dir(dir)
	}
}

// FreePort returns a loopback TCP port free at the time of the call.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Node is a running `geth --dev`.
type Node struct {
	URL    string
	RPC    *rpc.Client
	Client *ethclient.Client
	Dev    common.Address // the node's unlocked, funded dev account
	// Stop stops the node (idempotent; the test's cleanup runs it too).
	Stop func()
}

// Start runs geth --dev (blocks sealed on demand) on a free loopback port
// with a temporary data dir, waits until it answers with its dev account,
// and stops it when the test ends (printing its output if the test
// failed).
func Start(t testing.TB) *Node {
	t.Helper()
	bin := Binary(t)
	port := FreePort(t)
	var logs bytes.Buffer
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
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case <-exited:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("geth output:\n%s", logs.String())
		}
	})
	n := &Node{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Stop: stop}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		c, err := rpc.DialContext(ctx, n.URL)
		if err == nil {
			var accounts []common.Address
			if err = c.CallContext(ctx, &accounts, "eth_accounts"); err == nil && len(accounts) > 0 {
				n.RPC, n.Client, n.Dev = c, ethclient.NewClient(c), accounts[0]
				t.Cleanup(c.Close)
				return n
			}
			c.Close()
		}
		select {
		case err := <-exited:
			t.Fatalf("geth exited: %v\n%s", err, logs.String())
		case <-ctx.Done():
			t.Fatalf("geth did not answer on %s: %v\n%s", n.URL, err, logs.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Fund sends wei from the dev account to addr and waits until it is mined
// and the head's state shows it.
func (n *Node) Fund(t testing.TB, addr common.Address, wei *big.Int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var h common.Hash
	if err := n.RPC.CallContext(ctx, &h, "eth_sendTransaction", map[string]any{
		"from": n.Dev, "to": addr, "value": (*hexutil.Big)(wei),
	}); err != nil {
		t.Fatal(err)
	}
	for {
		r, err := n.Client.TransactionReceipt(ctx, h)
		if err == nil {
			if r.Status != 1 {
				t.Fatalf("funding %s failed", addr)
			}
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("funding %s: no receipt: %v", addr, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	// The receipt can be served before the head's state shows the
	// transfer: a gas estimate right away then saw a balance of 0 (seen
	// once in eight runs). Wait until the latest state has the funds.
	for {
		bal, err := n.Client.BalanceAt(ctx, addr, nil)
		if err == nil && bal.Cmp(wei) >= 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("funding %s: balance %v, %v after its receipt", addr, bal, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}
