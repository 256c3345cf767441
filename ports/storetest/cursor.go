package storetest

import (
	"reflect"
	"testing"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// testChainCursor: the cursor keeps its block, hash, checkpoints and rewind
// count across a reopen; it only moves forward in (Rewinds, Block) order,
// so a rewind moves it back to a lower block while a late write of the
// branch it left is ignored.
func testChainCursor(t *testing.T, f Factory) {
	s := f.New(t)
	ctx := ctxFor(t)
	h := func(b byte) nitro.Bytes32 { return nitro.Bytes32{b, 0xc0} }
	at5 := ports.Cursor{Block: 5, Hash: h(5)}
	at9 := at5.Advance(9, h(9))
	rewound := at9.Rewind(4, h(4))
	for _, step := range []struct{ set, want ports.Cursor }{
		{at5, at5},
		{ports.Cursor{Block: 3}, at5}, // older: ignored
		{at9, at9},                    // with a checkpoint
		{ports.Cursor{Block: 8}, at9}, // older: ignored
		{rewound, rewound},            // a rewind moves it back
		{at9, rewound},                // the abandoned branch: ignored
		{rewound.Advance(6, h(6)), rewound.Advance(6, h(6))},
	} {
		if err := s.SetChainCursor(ctx, step.set); err != nil {
			t.Fatal(err)
		}
		got, err := s.ChainCursor(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !sameCursor(got, step.want) {
			t.Fatalf("after SetChainCursor(%+v): cursor %+v, want %+v", step.set, got, step.want)
		}
	}
	want := rewound.Advance(6, h(6))
	if len(want.Recent) != 1 || want.Recent[0] != (ports.Checkpoint{Block: 4, Hash: h(4)}) || want.Rewinds != 1 {
		t.Fatalf("test cursor %+v", want)
	}
	s = f.reopen(t, s)
	if got, err := s.ChainCursor(ctxFor(t)); err != nil || !sameCursor(got, want) {
		t.Fatalf("after reopen: cursor %+v, %v; want %+v", got, err, want)
	}
}

func sameCursor(a, b ports.Cursor) bool {
	if len(a.Recent) == 0 && len(b.Recent) == 0 {
		a.Recent, b.Recent = nil, nil
	}
	return reflect.DeepEqual(a, b)
}
