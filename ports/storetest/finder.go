package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// testChannelFinder: a store that is a ports.ChannelFinder returns, of the
// ids it is given, those it does not hold, in order and as often as
// given; after a reopen the same; and fails on an ended context. Every
// store of this repository implements it (the wallet falls back to Get
// for one that does not, such as a test wrapper).
func testChannelFinder(t *testing.T, f Factory) {
	s := f.New(t)
	fd, ok := s.(ports.ChannelFinder)
	if !ok {
		t.Fatal("the store does not look channels up in bulk (ports.ChannelFinder)")
	}
	ctx := ctxFor(t)
	c1, c2 := channel(1), channel(2)
	mustCommit(t, s, ports.Change{Channel: c1}, ports.Change{Channel: c2})
	x, y := nitro.Bytes32{0xee, 1}, nitro.Bytes32{0xee, 2}
	ask := []nitro.Bytes32{c1.ID, x, c2.ID, y, x}
	want := []nitro.Bytes32{x, y, x}
	check := func(fd ports.ChannelFinder, what string) {
		t.Helper()
		got, err := fd.Missing(ctx, ask)
		if err != nil {
			t.Fatalf("%s: Missing: %v", what, err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: Missing(%v) = %v, want %v", what, ask, got, want)
		}
		if got, err := fd.Missing(ctx, []nitro.Bytes32{c2.ID, c1.ID}); err != nil || len(got) != 0 {
			t.Fatalf("%s: Missing of held channels: %v, %v; want none", what, got, err)
		}
		if got, err := fd.Missing(ctx, nil); err != nil || len(got) != 0 {
			t.Fatalf("%s: Missing(nil): %v, %v; want none", what, got, err)
		}
	}
	check(fd, "open")
	s = f.reopen(t, s)
	check(s.(ports.ChannelFinder), "reopened")
	ended, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.(ports.ChannelFinder).Missing(ended, ask); err == nil {
		t.Fatal("Missing on an ended context succeeded")
	}
}
