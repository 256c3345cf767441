package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/nitrowallet/nitrowallet/internal/gethdev"
)

// asCommandEnv, set to 1 in a process's environment, makes this package's
// test binary run as the nitrowallet command (TestMain): the process tests
// start real nitrowallet processes without linking a second binary, which
// took 30 s on a loaded machine. The JS client test's init uses the same
// variable.
const asCommandEnv = "NITROWALLET_TEST_AS_COMMAND"

// TestMain runs the tests, or the command when asCommandEnv asks for it
// (as main does: until SIGTERM or SIGINT, exit status 1 on an error).
func TestMain(m *testing.M) {
	if os.Getenv(asCommandEnv) != "1" {
		os.Exit(m.Run())
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

// nitrowalletCommand returns an exec.Cmd running `nitrowallet args` in this
// package's folder (where serve finds the npm artifacts above it), with
// env, which should come from serveEnv.
func nitrowalletCommand(t *testing.T, env []string, args ...string) *exec.Cmd {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(env, asCommandEnv+"=1")
	return cmd
}

// gethDev is a running `geth --dev` on loopback.
type gethDev struct {
	url    string
	rpc    *rpc.Client
	client *ethclient.Client
	dev    common.Address // the node's unlocked, funded account
	stop   func()         // stops the node (idempotent; also run when the test ends)
	node   *gethdev.Node
}

// startGethDev runs bin/geth --dev (blocks sealed on demand) on a free
// loopback port with its own data dir (gethdev.Start, as adapters/ethereum's
// tests do), and stops it when the test ends. NITRO_GETH names another
// binary; `make test` builds bin/geth first (`make geth`).
func startGethDev(t *testing.T) *gethDev {
	t.Helper()
	n := gethdev.Start(t)
	return &gethDev{url: n.URL, rpc: n.RPC, client: n.Client, dev: n.Dev, stop: n.Stop, node: n}
}

// fund sends wei from the node's account to addr and waits until the head
// state shows it.
func (g *gethDev) fund(t *testing.T, addr common.Address, wei *big.Int) {
	t.Helper()
	g.node.Fund(t, addr, wei)
}

func freePort(t *testing.T) int { return gethdev.FreePort(t) }

// serveProc is a running `nitrowallet serve`.
type serveProc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	addr   string // host:port it listens on
	exited chan struct{}
	err    error // Wait's result, once exited is closed

	mu     sync.Mutex
	stdout bytes.Buffer
	stderr bytes.Buffer
}

// serveEnv is the environment of a serve process: this one's without any
// NITROWALLET_ variable, plus extra.
func serveEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NITROWALLET_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// startServe starts `nitrowallet serve args` and waits for its "listening
// on" line. It is killed when the test ends if still running.
func startServe(t *testing.T, name string, env []string, args ...string) *serveProc {
	t.Helper()
	p := &serveProc{t: t, name: name, exited: make(chan struct{})}
	p.cmd = nitrowalletCommand(t, env, append([]string{"serve"}, args...)...)
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = lockedBuffer{&p.mu, &p.stderr}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stdout.WriteString(line + "\n")
			p.mu.Unlock()
			if a, ok := strings.CutPrefix(line, "listening on http://"); ok {
				listening <- a
			}
		}
		_, _ = io.Copy(io.Discard, out)
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("%s's stdout:\n%s\n%s's stderr:\n%s", name, p.Stdout(), name, p.Stderr())
		}
	})
	select {
	case p.addr = <-listening:
		return p
	case <-p.exited:
		t.Fatalf("%s exited before listening: %v\n%s%s", name, p.err, p.Stdout(), p.Stderr())
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s did not listen within 2 minutes\n%s%s", name, p.Stdout(), p.Stderr())
	}
	return nil
}

// Stdout and Stderr return what the process wrote so far.
func (p *serveProc) Stdout() string { p.mu.Lock(); defer p.mu.Unlock(); return p.stdout.String() }
func (p *serveProc) Stderr() string { p.mu.Lock(); defer p.mu.Unlock(); return p.stderr.String() }

// stop sends SIGTERM and requires the process to exit with status 0 within
// the bound (the shutdown timeout plus margin; a bound on a hang, not a
// speed target). It returns how long the exit took.
func (p *serveProc) stop(bound time.Duration) time.Duration {
	p.t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.t.Fatalf("%s: SIGTERM: %v", p.name, err)
	}
	select {
	case <-p.exited:
	case <-time.After(bound):
		p.t.Fatalf("%s still running %v after SIGTERM", p.name, bound)
	}
	var exit *exec.ExitError
	if errors.As(p.err, &exit) || p.err != nil {
		p.t.Fatalf("%s exited with %v after SIGTERM\n%s", p.name, p.err, p.Stderr())
	}
	return time.Since(start)
}

// lockedBuffer is a buffer written under a mutex.
type lockedBuffer struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (l lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
