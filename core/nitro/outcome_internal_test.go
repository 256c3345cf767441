package nitro

import (
	"bytes"
	"math/big"
	"math/rand"
	"reflect"
	"testing"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/crypto"
)

// TestAppendOutcomeMatchesEncode: the one-pass outcome encoding behind
// Outcome.Hash equals Outcome.Encode on random outcomes of allocations and
// guarantees.
func TestAppendOutcomeMatchesEncode(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	word := func() (w Bytes32) {
		rng.Read(w[:])
		return w
	}
	for n := 0; n < 2000; n++ {
		var o Outcome
		if rng.Intn(10) > 0 {
			o = Outcome{}
		}
		for a := rng.Intn(4); a > 0; a-- {
			ao := AssetOutcome{AssetHolder: Address(word().Bytes()[12:])}
			if rng.Intn(3) == 0 {
				g := &Guarantee{TargetChannelID: word()}
				for d := rng.Intn(4); d > 0; d-- {
					g.Destinations = append(g.Destinations, word())
				}
				ao.Guarantee = g
			} else {
				for i := rng.Intn(5); i > 0; i-- {
					amt := new(big.Int).SetBytes(word().Bytes()[:rng.Intn(33)])
					ao.Allocation = append(ao.Allocation, AllocationItem{Destination: word(), Amount: amt})
				}
			}
			o = append(o, ao)
		}
		want, err := o.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if got := appendOutcome(nil, o); !bytes.Equal(got, want) {
			t.Fatalf("outcome %d: one-pass encoding differs:\n got %x\nwant %x", n, got, want)
		}
		prefix := []byte{0xde, 0xad}
		if got, err := o.AppendEncoding(prefix); err != nil || !bytes.Equal(got[:2], prefix) || !bytes.Equal(got[2:], want) {
			t.Fatalf("outcome %d: AppendEncoding after a prefix: %x, %v", n, got, err)
		}
		h, err := o.Hash()
		if err != nil || h != crypto.Keccak256Hash(want) {
			t.Fatalf("outcome %d: hash %s, %v", n, h, err)
		}
	}
	bad := Outcome{{Allocation: []AllocationItem{{Amount: big.NewInt(-1)}}}}
	if _, err := bad.Hash(); err == nil {
		t.Fatal("negative amount hashed")
	}
	if _, err := bad.AppendEncoding(nil); err == nil {
		t.Fatal("negative amount encoded")
	}
}

// TestCloneMatchesSimple: State.Clone and Outcome.Clone give what plain
// per-value copies give, nil and empty slices included, sharing nothing.
func TestCloneMatchesSimple(t *testing.T) {
	simple := func(o Outcome) Outcome {
		if o == nil {
			return nil
		}
		out := make(Outcome, len(o))
		for i, a := range o {
			out[i] = AssetOutcome{AssetHolder: a.AssetHolder}
			if a.Allocation != nil {
				out[i].Allocation = make([]AllocationItem, len(a.Allocation))
				for j, it := range a.Allocation {
					out[i].Allocation[j] = AllocationItem{Destination: it.Destination, Amount: new(big.Int).Set(it.Amount)}
				}
			}
			if a.Guarantee != nil {
				g := *a.Guarantee
				g.Destinations = append([]Bytes32(nil), a.Guarantee.Destinations...)
				out[i].Guarantee = &g
			}
		}
		return out
	}
	outcomes := []Outcome{nil, {}, {{}}, {{Allocation: []AllocationItem{}}},
		{{AssetHolder: Address{1}, Allocation: []AllocationItem{{Amount: big.NewInt(0)}, {Amount: new(big.Int).Lsh(big.NewInt(1), 200)}}},
			{Allocation: nil}, {Guarantee: &Guarantee{Destinations: []Bytes32{{2}}}}, {Allocation: []AllocationItem{{Amount: big.NewInt(-3)}}}},
	}
	for i, o := range outcomes {
		got := o.Clone()
		if !reflect.DeepEqual(got, simple(o)) {
			t.Fatalf("outcome %d: %#v", i, got)
		}
		for _, a := range got {
			for _, it := range a.Allocation {
				it.Amount.SetInt64(99)
			}
		}
		if !reflect.DeepEqual(o, simple(o)) || (len(o) > 0 && len(o[0].Allocation) > 0 && o[0].Allocation[0].Amount.Int64() == 99) {
			t.Fatalf("outcome %d: the clone shares amounts", i)
		}
		st := State{ChainID: big.NewInt(5), Participants: []Address{{1}}, AppData: []byte{1}, Outcome: o}
		sc := st.Clone()
		want := st
		want.ChainID, want.Participants, want.AppData, want.Outcome = new(big.Int).Set(st.ChainID), []Address{{1}}, []byte{1}, simple(o)
		if !reflect.DeepEqual(sc, want) {
			t.Fatalf("state %d: %#v", i, sc)
		}
	}
}

// TestSignatureDigestMatchesTextHash: the digest is eth_sign's, as
// go-ethereum's accounts.TextHash computes it.
func TestSignatureDigestMatchesTextHash(t *testing.T) {
	for i := 0; i < 100; i++ {
		var h Bytes32
		h[0], h[31] = byte(i), byte(3*i)
		if got, want := SignatureDigest(h), accounts.TextHash(h[:]); !bytes.Equal(got, want) {
			t.Fatalf("%x: %x, want %x", h, got, want)
		}
	}
}
