package core_test

import (
	"math/big"
	"reflect"
	"slices"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/ports/storetest"
)

// simpleClone is the straightforward deep copy Channel.Clone must equal.
func simpleClone(c core.Channel) core.Channel {
	out := c
	out.Participants = slices.Clone(c.Participants)
	out.Setup = c.Setup.Clone()
	out.States = make([]core.StoredState, len(c.States))
	for i, s := range c.States {
		out.States[i] = core.StoredState{State: s.State.Clone(), Hash: s.Hash, Sigs: slices.Clone(s.Sigs)}
	}
	if c.Held != nil {
		out.Held = make([]core.SignedState, len(c.Held))
		for i, h := range c.Held {
			out.Held[i] = core.SignedState{State: h.State.Clone(), Participants: slices.Clone(h.Participants), Signatures: slices.Clone(h.Signatures)}
		}
	}
	if c.Pending != nil {
		p := core.Pending{State: c.Pending.State.Clone(), Hash: c.Pending.Hash}
		out.Pending = &p
	}
	out.Funding = make([]core.AssetFunding, len(c.Funding))
	for i, f := range c.Funding {
		nf := core.AssetFunding{Asset: f.Asset, Holdings: new(big.Int).Set(f.Holdings), PaidOut: f.PaidOut}
		if f.Deposits != nil {
			nf.Deposits = make(map[int]core.TxStatus, len(f.Deposits))
			for k, v := range f.Deposits {
				nf.Deposits[k] = v
			}
		}
		for _, p := range f.Payouts {
			nf.Payouts = append(nf.Payouts, new(big.Int).Set(p))
		}
		out.Funding[i] = nf
	}
	return out
}

// scribble changes every number, byte, flag and big.Int reachable from v.
func scribble(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		if b, ok := v.Interface().(*big.Int); ok {
			b.SetInt64(-12345)
			return
		}
		scribble(v.Elem())
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				scribble(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			scribble(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			v.SetMapIndex(k, reflect.Zero(v.Type().Elem()))
		}
	case reflect.Interface:
		// none in a channel
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 1)
	case reflect.String:
		v.SetString(v.String() + "!")
	}
}

// TestCloneIsDeep: Clone equals the simple deep copy on every channel of
// the store suite's corpus (every protocol stage, n = 2 and 3, and extreme
// synthetic values), and changing everything in a clone, then appending to
// its slices, leaves the original as it was.
func TestCloneIsDeep(t *testing.T) {
	for _, snap := range storetest.Corpus() {
		c := snap.Channel
		want := simpleClone(c)
		got := c.Clone()
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: Clone differs from a simple deep copy:\n got %+v\nwant %+v", snap.Stage, got, want)
		}
		scribble(reflect.ValueOf(&got).Elem())
		for i := range got.States {
			got.States[i].Sigs = append(got.States[i].Sigs, got.States[i].Sigs...)
			got.States[i].State.Participants = append(got.States[i].State.Participants, got.States[i].State.Participants...)
		}
		got.Setup.AppData = append(got.Setup.AppData, 1, 2, 3)
		if !reflect.DeepEqual(simpleClone(c), want) {
			t.Fatalf("%s: changing a clone changed the original", snap.Stage)
		}
	}
}
