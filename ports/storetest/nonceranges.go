package storetest

import (
	"testing"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// testNonceRanges: a store that is a ports.NonceRanger reserves n
// consecutive nonces in one call, shared with NextNonce's counter (no
// value handed out twice, none skipped), and refuses n < 1 reserving
// nothing. Every store of this repository implements it (the wallet
// falls back to NextNonce for one that does not, such as a test wrapper).
func testNonceRanges(t *testing.T, f Factory) {
	s := f.New(t)
	r, ok := s.(ports.NonceRanger)
	if !ok {
		t.Fatal("the store does not reserve nonce ranges (ports.NonceRanger)")
	}
	ctx := ctxFor(t)
	l := []nitro.Address{{0xa}, {0xb}}
	first, err := s.NextNonce(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	last, err := r.NextNonces(ctx, l, 50)
	if err != nil {
		t.Fatal(err)
	}
	if last != first+50 {
		t.Fatalf("NextNonces(50) after nonce %d: last %d, want %d", first, last, first+50)
	}
	if _, err := r.NextNonces(ctx, l, 0); err == nil {
		t.Fatal("NextNonces(0) succeeded")
	}
	next, err := s.NextNonce(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	if next != last+1 {
		t.Fatalf("NextNonce after the range: %d, want %d", next, last+1)
	}
	other, err := r.NextNonces(ctx, []nitro.Address{{0xc}, {0xa}}, 3)
	if err != nil || other != 3 {
		t.Fatalf("a new list's first range of 3: last %d, %v; want 3", other, err)
	}
}
