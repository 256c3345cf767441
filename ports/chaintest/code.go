package chaintest

import (
	"bytes"
	"context"
	"crypto/sha256"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// AppDeployer is an Env that can put an app on chain. Every Env must be
// one: the Code case fails without it.
type AppDeployer interface {
	Env
	// DeployApp deploys an app (for a chain of real contracts, one of the
	// npm package's) and returns its address and its runtime code as the
	// chain holds it, read without the port.
	DeployApp(ctx context.Context) (nitro.Address, []byte, error)
}

// testCode: Code returns the runtime code of a deployed app, a copy the
// caller may change, to every account; an address without a contract has
// empty code and no error; a call whose context ended fails.
func testCode(s *suite) {
	env, ok := s.env.(AppDeployer)
	if !ok {
		s.t.Fatalf("%T is not a chaintest.AppDeployer", s.env)
	}
	a, b := s.funded(), s.funded()
	addr, want, err := env.DeployApp(s.ctx)
	if err != nil {
		s.t.Fatalf("DeployApp: %v", err)
	}
	if len(want) == 0 {
		s.t.Fatal("DeployApp deployed no code")
	}
	for _, acct := range []account{a, b} {
		got, err := acct.chain.Code(s.ctx, addr)
		if err != nil || !bytes.Equal(got, want) {
			s.t.Fatalf("Code(%s): %d bytes (sha256 %x), %v; want %d bytes (sha256 %x)", addr, len(got), sha256.Sum256(got), err, len(want), sha256.Sum256(want))
		}
		got[0] ^= 0xff
	}
	if got, err := a.chain.Code(s.ctx, addr); err != nil || !bytes.Equal(got, want) {
		s.t.Fatalf("Code after the caller changed its copy: %v", err)
	}
	if got, err := a.chain.Code(s.ctx, fresh("no contract here")); err != nil || len(got) != 0 {
		s.t.Fatalf("Code of an address without a contract: %d bytes, %v", len(got), err)
	}
	ended, cancel := context.WithCancel(s.ctx)
	cancel()
	if _, err := a.chain.Code(ended, addr); err == nil {
		s.t.Fatal("Code with an ended context succeeded")
	}
}
