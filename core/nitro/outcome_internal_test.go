package nitro

import (
	"bytes"
	"math/big"
	"math/rand"
	"testing"

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
		h, err := o.Hash()
		if err != nil || h != crypto.Keccak256Hash(want) {
			t.Fatalf("outcome %d: hash %s, %v", n, h, err)
		}
	}
	bad := Outcome{{Allocation: []AllocationItem{{Amount: big.NewInt(-1)}}}}
	if _, err := bad.Hash(); err == nil {
		t.Fatal("negative amount hashed")
	}
}
