package app_test

import (
	"context"
	"errors"
	"sync"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// gateSigner wraps a signer so a test can hold one signature: once armed,
// the next SignState reports that it started and waits until the test
// releases it (or its context ends, as a signer that honours its context
// does). failNext makes the next SignState fail instead.
type gateSigner struct {
	ports.Signer
	mu       sync.Mutex
	armed    bool
	started  chan struct{}
	release  chan struct{}
	failNext bool
}

// errSignerDown is the failure failNext gives.
var errSignerDown = errors.New("test: signer unavailable")

// arm makes the next signature wait; it returns the channel closed when
// that signature starts and the function that lets it finish.
func (g *gateSigner) arm() (started <-chan struct{}, release func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.armed, g.started, g.release = true, make(chan struct{}), make(chan struct{})
	r := g.release
	var once sync.Once
	return g.started, func() { once.Do(func() { close(r) }) }
}

// fail makes the next signature fail with errSignerDown.
func (g *gateSigner) fail() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.failNext = true
}

// SignState signs, after waiting when armed.
func (g *gateSigner) SignState(ctx context.Context, h nitro.Bytes32) (nitro.Signature, error) {
	g.mu.Lock()
	armed, fail, started, release := g.armed, g.failNext, g.started, g.release
	g.armed, g.failNext = false, false
	g.mu.Unlock()
	if fail {
		return nitro.Signature{}, errSignerDown
	}
	if armed {
		close(started)
		select {
		case <-release:
		case <-ctx.Done():
			return nitro.Signature{}, ctx.Err()
		}
	}
	return g.Signer.SignState(ctx, h)
}

// withGate returns a config hook for eachStore's wallets that wraps party
// A's signer in a gateSigner, stored in *g.
func withGate(g **gateSigner) func(name string, c *app.Config) {
	return func(name string, c *app.Config) {
		if name == "A" {
			*g = &gateSigner{Signer: c.Signer}
			c.Signer = *g
		}
	}
}
