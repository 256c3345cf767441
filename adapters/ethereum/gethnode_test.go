package ethereum_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"
)

// gethProc is a `geth --dev` process the fault tests kill, stop, freeze
// and restart: its own data dir and a fixed loopback HTTP port, so a
// restarted node comes back where the wallets' clients (HTTP, one request
// per call) look for it.
type gethProc struct {
	bin    string
	dir    string
	url    string
	port   int
	rpc    *rpc.Client
	client *ethclient.Client
	dev    common.Address // the node's unlocked, funded dev account

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan error
	logs   syncBuffer
}

// syncBuffer collects the output of every run of the node.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newGethProc starts geth --dev sealing a block every second, with the
// txpool and debug APIs, and stops it when the test ends (printing its
// output if the test failed).
func newGethProc(t *testing.T) *gethProc {
	t.Helper()
	g := &gethProc{bin: gethBinary(t), dir: t.TempDir(), port: freePort(t)}
	g.url = fmt.Sprintf("http://127.0.0.1:%d", g.port)
	c, err := rpc.DialContext(context.Background(), g.url) // HTTP: no connection is made yet
	if err != nil {
		t.Fatal(err)
	}
	g.rpc, g.client = c, ethclient.NewClient(c)
	t.Cleanup(func() {
		g.stop()
		c.Close()
		if t.Failed() {
			out := g.logs.String()
			if len(out) > 20000 {
				out = "…" + out[len(out)-20000:]
			}
			t.Logf("geth output (last part):\n%s", out)
		}
	})
	g.start(t)
	var accounts []common.Address
	if err := g.rpc.CallContext(context.Background(), &accounts, "eth_accounts"); err != nil || len(accounts) == 0 {
		t.Fatalf("geth dev account: %v %v", accounts, err)
	}
	g.dev = accounts[0]
	return g
}

// start runs the node on its data dir and port with extra flags and waits
// until it answers; a node that does not start fails t (the test or
// subtest calling, never the one that made the node).
func (g *gethProc) start(t *testing.T, extra ...string) {
	t.Helper()
	args := append([]string{"--dev", "--dev.period", "1",
		"--http", "--http.addr", "127.0.0.1", "--http.port", strconv.Itoa(g.port), "--http.api", "eth,net,web3,txpool,debug",
		"--ipcdisable", "--nodiscover", "--maxpeers", "0", "--port", "0", "--authrpc.port", "0",
		"--datadir", g.dir, "--verbosity", "2"}, extra...)
	cmd := exec.Command(g.bin, args...)
	fmt.Fprintf(&g.logs, "=== geth %v\n", extra)
	cmd.Stdout, cmd.Stderr = &g.logs, &g.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	g.mu.Lock()
	g.cmd, g.exited = cmd, exited
	g.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		var n hexutil.Uint64
		err := g.rpc.CallContext(ctx, &n, "eth_blockNumber")
		if err == nil {
			return
		}
		select {
		case err := <-exited:
			t.Fatalf("geth exited: %v\n%s", err, g.logs.String())
		case <-ctx.Done():
			t.Fatalf("geth did not answer on %s: %v", g.url, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// signal sends sig to the running node; failing, it fails t.
func (g *gethProc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.cmd == nil {
		t.Fatal("geth is not running")
	}
	if err := g.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal geth %v: %v", sig, err)
	}
}

// wait waits until the node has exited, killing it after limit.
func (g *gethProc) wait(limit time.Duration) {
	g.mu.Lock()
	cmd, exited := g.cmd, g.exited
	g.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
	case <-time.After(limit):
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		<-exited
	}
	g.mu.Lock()
	g.cmd = nil
	g.mu.Unlock()
}

// kill ends the node with SIGKILL: nothing is flushed.
func (g *gethProc) kill(t *testing.T) {
	t.Helper()
	g.signal(t, syscall.SIGKILL)
	g.wait(time.Minute)
}

// stop shuts the node down cleanly (SIGCONT first, in case it is frozen).
func (g *gethProc) stop() {
	g.mu.Lock()
	cmd := g.cmd
	g.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGCONT)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	g.wait(30 * time.Second)
}

// head returns the node's block number.
func (g *gethProc) head(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return g.client.BlockNumber(ctx)
}

// poolStatus returns txpool_status: pending and queued transactions.
func (g *gethProc) poolStatus(ctx context.Context) (pending, queued uint64, err error) {
	var st struct{ Pending, Queued hexutil.Uint64 }
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := g.rpc.CallContext(ctx, &st, "txpool_status"); err != nil {
		return 0, 0, err
	}
	return uint64(st.Pending), uint64(st.Queued), nil
}

// gweiTip is the tip the test's own funding transactions pay: enough for
// a node started with --txpool.pricelimit up to 1 gwei.
var gweiTip = big.NewInt(2e9)

// fundAll sends wei from the dev account to each address, all at once,
// and waits until every transfer is mined.
func (g *gethProc) fundAll(ctx context.Context, wei *big.Int, addrs ...common.Address) error {
	var hashes []common.Hash
	for _, a := range addrs {
		var h common.Hash
		if err := g.rpc.CallContext(ctx, &h, "eth_sendTransaction", map[string]any{
			"from": g.dev, "to": a, "value": (*hexutil.Big)(wei),
			"maxPriorityFeePerGas": (*hexutil.Big)(gweiTip), "maxFeePerGas": (*hexutil.Big)(new(big.Int).Mul(gweiTip, big.NewInt(50))),
		}); err != nil {
			return fmt.Errorf("fund %s: %w", a, err)
		}
		hashes = append(hashes, h)
	}
	for _, h := range hashes {
		for {
			r, err := g.client.TransactionReceipt(ctx, h)
			if err == nil {
				if r.Status != 1 {
					return fmt.Errorf("funding transaction %s failed", h)
				}
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("funding transaction %s: %w", h, errors.Join(ctx.Err(), err))
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return nil
}

// waitBlocks waits until the head has moved n blocks past from.
func (g *gethProc) waitBlocks(ctx context.Context, from, n uint64) error {
	for {
		h, err := g.head(ctx)
		if err == nil && h >= from+n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("head %d, waiting for %d: %w", h, from+n, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
