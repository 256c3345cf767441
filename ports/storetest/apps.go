package storetest

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/testkit"
	"github.com/nitrowallet/nitrowallet/ports"
)

// testApps: a registered app's code is read back, also after a reopen,
// ordered by address and never aliased with the caller's slice;
// registering the same code again does nothing; different code for a
// registered address (ErrAppCodeConflict), empty code and code over
// EIP-170's 24,576 bytes (ErrInvalidAppCode) are refused and store
// nothing; a call whose context ended stores nothing.
func testApps(t *testing.T, f Factory) {
	s := f.New(t)
	ctx := ctxFor(t)
	a, b, c := nitro.Address{0xa9, 2}, nitro.Address{0xa9, 1}, nitro.Address{0xa9, 3}
	codeA := []byte{0x60, 0x01, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xf3}
	codeB := bytes.Repeat([]byte{0x5b}, ports.MaxAppCodeSize) // the largest allowed
	if apps, err := s.Apps(ctx); err != nil || len(apps) != 0 {
		t.Fatalf("Apps of an empty store: %v, %v", apps, err)
	}
	mine := bytes.Clone(codeA)
	for _, r := range []struct {
		addr nitro.Address
		code []byte
	}{{a, mine}, {b, codeB}, {a, bytes.Clone(codeA)}} { // the last: the same again
		if err := s.RegisterApp(ctx, r.addr, r.code); err != nil {
			t.Fatalf("RegisterApp(%s, %d bytes): %v", r.addr, len(r.code), err)
		}
	}
	mine[0] = 0xff // the store keeps its own copy
	want := []ports.App{{Address: b, Code: codeB}, {Address: a, Code: codeA}}
	wantApps(t, s, want)
	for _, r := range []struct {
		addr nitro.Address
		code []byte
		err  error
	}{
		{a, append(bytes.Clone(codeA), 0x00), ports.ErrAppCodeConflict},
		{b, codeA, ports.ErrAppCodeConflict},
		{c, nil, ports.ErrInvalidAppCode},
		{c, []byte{}, ports.ErrInvalidAppCode},
		{c, bytes.Repeat([]byte{0x5b}, ports.MaxAppCodeSize+1), ports.ErrInvalidAppCode},
	} {
		if err := s.RegisterApp(ctx, r.addr, r.code); !errors.Is(err, r.err) {
			t.Fatalf("RegisterApp(%s, %d bytes): %v, want %v", r.addr, len(r.code), err, r.err)
		}
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.RegisterApp(ended, c, codeA); err == nil {
		t.Fatal("RegisterApp with an ended context succeeded")
	}
	wantApps(t, s, want)
	s = f.reopen(t, s)
	wantApps(t, s, want)
	if err := s.RegisterApp(ctxFor(t), a, codeB); !errors.Is(err, ports.ErrAppCodeConflict) {
		t.Fatalf("after reopen, RegisterApp with other code: %v, want ErrAppCodeConflict", err)
	}
}

func wantApps(t *testing.T, s ports.Store, want []ports.App) {
	t.Helper()
	got, err := s.Apps(ctxFor(t))
	if err != nil {
		t.Fatalf("Apps: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("Apps: %d apps, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].Address != want[i].Address || !bytes.Equal(got[i].Code, want[i].Code) {
			t.Fatalf("Apps[%d]: %s with %d bytes, want %s with %d", i, got[i].Address, len(got[i].Code), want[i].Address, len(want[i].Code))
		}
	}
	if len(got) > 0 {
		got[0].Code[0] ^= 0xff // the caller's copy
		if again, err := s.Apps(ctxFor(t)); err != nil || !bytes.Equal(again[0].Code, want[0].Code) {
			t.Fatalf("Apps returned the store's own slice (%v)", err)
		}
	}
}

// testConcurrentRegistrations: workers registering apps at once, some the
// same code for one address and some different code for another, get
// nil for the same code and, for different code, exactly one registration
// wins and the others get ErrAppCodeConflict.
func testConcurrentRegistrations(t *testing.T, f Factory) {
	s := f.New(t)
	ctx := ctxFor(t)
	same, contested := nitro.Address{0xa9, 0x10}, nitro.Address{0xa9, 0x11}
	const n = 8
	var wins atomic.Int32
	testkit.Parallel(t, 2*n, func(i int) error {
		if i < n {
			return s.RegisterApp(ctx, same, []byte{0x5b, 0x00})
		}
		err := s.RegisterApp(ctx, contested, []byte{0x5b, byte(i)})
		if err == nil {
			wins.Add(1)
			return nil
		}
		if errors.Is(err, ports.ErrAppCodeConflict) {
			return nil
		}
		return err
	})
	if wins.Load() != 1 {
		t.Fatalf("%d registrations of different code for one address succeeded, want 1", wins.Load())
	}
	apps, err := s.Apps(ctx)
	if err != nil || len(apps) != 2 || !bytes.Equal(apps[0].Code, []byte{0x5b, 0x00}) {
		t.Fatalf("Apps: %x, %v", apps, err)
	}
}
