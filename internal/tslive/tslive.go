// Package tslive runs the reference TypeScript wallet,
// @statechannels/server-wallet 1.13.1 (nitro-protocol 0.10.1 hashes), as a
// live peer for tests: tools/tswallet/driver.js in a node child process, on
// its own PostgreSQL database, driven over JSON lines on its stdin and
// stdout. It is for tests and benchmarks only.
package tslive

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// Hint tells what to run when the npm packages are missing.
const Hint = "the TS wallet's npm packages are missing: run `make tswallet` (npm ci in tools/tswallet) first"

// ErrCall is wrapped by every error the TS wallet answers a call with (see
// CallError).
var ErrCall = errors.New("tslive: the TS wallet refused the call")

// ErrExited is returned by calls on a wallet whose driver process ended.
var ErrExited = errors.New("tslive: the TS wallet's driver exited")

// CallError is an error the TS wallet threw: its class name, message and,
// for a PushMessageError, the cause's message.
type CallError struct {
	Call    string
	Name    string `json:"name"`
	Message string `json:"message"`
	Cause   string `json:"cause"`
}

func (e *CallError) Error() string {
	s := fmt.Sprintf("tslive: %s: %s: %s", e.Call, e.Name, e.Message)
	if e.Cause != "" {
		s += ": " + e.Cause
	}
	return s
}

// Unwrap makes errors.Is(err, ErrCall) hold.
func (e *CallError) Unwrap() error { return ErrCall }

// Dir returns tools/tswallet, found from the working directory upwards
// (the folder holding go.mod).
func Dir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "tools", "tswallet"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("tslive: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Installed reports whether tools/tswallet's npm packages are installed.
func Installed() error {
	dir, err := Dir()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@statechannels", "server-wallet", "package.json")); err != nil {
		return fmt.Errorf("%s: %w", Hint, err)
	}
	return nil
}

// Config says where the TS wallet keeps its data and which key it signs with.
type Config struct {
	// DBName is the database the driver creates (dropping a leftover of
	// that name) and drops when the wallet stops: lowercase letters,
	// digits and underscores.
	DBName string `json:"dbName"`
	// Host, Port, User and Password reach PostgreSQL; empty means
	// 127.0.0.1:5432, user postgres, no password.
	Host     string `json:"host,omitempty"`
	Port     int    `json:"port,omitempty"`
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
	// PrivateKey is the signing key, 0x and 64 hex digits.
	PrivateKey string `json:"privateKey"`
	// ChainNetworkID is the chain id its states carry (0 means 1337).
	ChainNetworkID int64 `json:"chainNetworkID,omitempty"`
	// PoolMax bounds its database connections (0: knex's default, 10).
	PoolMax int `json:"-"`
	// OnEvent, when set, sees each event line (outbox messages and
	// channel results), on the reading goroutine.
	OnEvent func(Event) `json:"-"`
	// Stderr receives the driver's standard error (its log); nil keeps
	// it in memory for Stderr().
	Stderr io.Writer `json:"-"`
}

// Event is a line the driver writes besides responses: "messageQueued"
// with Params, or "channelUpdated" with ChannelResult.
type Event struct {
	Event         string          `json:"event"`
	Params        *Outgoing       `json:"params,omitempty"`
	ChannelResult *ChannelResult  `json:"channelResult,omitempty"`
	Raw           json.RawMessage `json:"-"`
}

// Wallet is one running TS wallet.
type Wallet struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stderr  lockedBuffer
	onEvent func(Event)

	wmu     sync.Mutex // serializes writes to stdin
	mu      sync.Mutex
	nextID  int64
	pending map[int64]chan response
	dead    error
	done    chan struct{}

	// Address is the wallet's signing address (EIP-55) and Participant
	// its participant as it describes itself.
	Address     string
	Participant Participant
}

type response struct {
	ID     *int64          `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *CallError      `json:"error"`
	Event  string          `json:"event"`
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Start runs node on driver.js, creates the wallet's database and adds its
// signing key. Stop ends it and drops the database.
func Start(ctx context.Context, cfg Config) (*Wallet, error) {
	if err := Installed(); err != nil {
		return nil, err
	}
	dir, _ := Dir()
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("tslive: node is not installed: %w", err)
	}
	// Not CommandContext: ctx bounds Start, not the wallet's life.
	cmd := exec.Command(node, filepath.Join(dir, "driver.js"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_ENV=test")
	w := &Wallet{cmd: cmd, pending: map[int64]chan response{}, done: make(chan struct{}), onEvent: cfg.OnEvent}
	if cfg.Stderr != nil {
		cmd.Stderr = io.MultiWriter(cfg.Stderr, &w.stderr)
	} else {
		cmd.Stderr = &w.stderr
	}
	if w.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("tslive: start node: %w", err)
	}
	go w.read(stdout)
	params := struct {
		Config
		Pool *struct {
			Max int `json:"max"`
		} `json:"pool,omitempty"`
	}{Config: cfg}
	if cfg.PoolMax > 0 {
		params.Pool = &struct {
			Max int `json:"max"`
		}{cfg.PoolMax}
	}
	var res struct {
		SigningAddress string      `json:"signingAddress"`
		Participant    Participant `json:"participant"`
	}
	if err := w.Call(ctx, "init", params, &res); err != nil {
		w.kill()
		return nil, fmt.Errorf("tslive: init: %w\n%s", err, w.Stderr())
	}
	w.Address, w.Participant = res.SigningAddress, res.Participant
	return w, nil
}

func (w *Wallet) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var resp response
		if err := json.Unmarshal(line, &resp); err != nil {
			fmt.Fprintf(&w.stderr, "tslive: unreadable line from the driver: %v: %s\n", err, line)
			continue
		}
		if resp.Event != "" {
			if w.onEvent != nil {
				var ev Event
				if err := json.Unmarshal(line, &ev); err == nil {
					ev.Raw = append(json.RawMessage(nil), line...)
					w.onEvent(ev)
				}
			}
			continue
		}
		if resp.ID == nil {
			fmt.Fprintf(&w.stderr, "tslive: response without an id: %s\n", line)
			continue
		}
		w.mu.Lock()
		ch := w.pending[*resp.ID]
		delete(w.pending, *resp.ID)
		w.mu.Unlock()
		if ch != nil {
			ch <- resp
		}
	}
	err := sc.Err()
	if err == nil {
		err = io.EOF
	}
	w.mu.Lock()
	w.dead = fmt.Errorf("%w: %v", ErrExited, err)
	for id, ch := range w.pending {
		close(ch)
		delete(w.pending, id)
	}
	w.mu.Unlock()
	close(w.done)
}

// Call sends one request and decodes its result into out (nil to ignore
// it). A refusal by the TS wallet is a *CallError wrapping ErrCall.
func (w *Wallet) Call(ctx context.Context, call string, params, out any) error {
	raw, err := w.CallRaw(ctx, call, params)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("tslive: %s: decode result: %w: %s", call, err, raw)
	}
	return nil
}

// CallRaw is Call returning the result's JSON.
func (w *Wallet) CallRaw(ctx context.Context, call string, params any) (json.RawMessage, error) {
	ch := make(chan response, 1)
	w.mu.Lock()
	if w.dead != nil {
		w.mu.Unlock()
		return nil, w.dead
	}
	w.nextID++
	id := w.nextID
	w.pending[id] = ch
	w.mu.Unlock()
	line, err := json.Marshal(struct {
		ID     int64  `json:"id"`
		Call   string `json:"call"`
		Params any    `json:"params,omitempty"`
	}{id, call, params})
	if err != nil {
		w.forget(id)
		return nil, fmt.Errorf("tslive: %s: encode params: %w", call, err)
	}
	w.wmu.Lock() // one line at a time
	_, err = w.stdin.Write(append(line, '\n'))
	w.wmu.Unlock()
	if err != nil {
		w.forget(id)
		return nil, fmt.Errorf("%w: write: %v", ErrExited, err)
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			return nil, w.exitErr()
		}
		if resp.Error != nil {
			resp.Error.Call = call
			return nil, resp.Error
		}
		return resp.Result, nil
	case <-ctx.Done():
		w.forget(id)
		return nil, fmt.Errorf("tslive: %s: %w", call, ctx.Err())
	}
}

func (w *Wallet) forget(id int64) {
	w.mu.Lock()
	delete(w.pending, id)
	w.mu.Unlock()
}

func (w *Wallet) exitErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dead != nil {
		return w.dead
	}
	return ErrExited
}

// Stderr is what the driver wrote to its standard error so far.
func (w *Wallet) Stderr() string { return w.stderr.String() }

// Stop destroys the wallet, drops its database and waits for the driver to
// exit (closing its stdin does the same if the call fails).
func (w *Wallet) Stop(ctx context.Context) error {
	err := w.Call(ctx, "destroy", map[string]bool{"drop": true}, nil)
	_ = w.stdin.Close()
	select {
	case <-w.done:
	case <-ctx.Done():
		w.kill()
		return ctx.Err()
	}
	if werr := w.cmd.Wait(); err == nil && werr != nil {
		err = fmt.Errorf("tslive: driver: %w", werr)
	}
	return err
}

func (w *Wallet) kill() {
	_ = w.stdin.Close()
	_ = w.cmd.Process.Kill()
	_ = w.cmd.Wait()
}
