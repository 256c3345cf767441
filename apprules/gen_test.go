package apprules_test

import (
	"crypto/sha256"
	"fmt"
	"math/big"
	"math/rand"

	"github.com/ethereum/go-ethereum/common"

	"github.com/nitrowallet/nitrowallet/apprules"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// gen makes random transitions of the npm apps, valid and invalid, from a
// seeded source.
type gen struct {
	r      *rand.Rand
	holder common.Address // the asset holder in outcomes
}

func (g *gen) addr() common.Address {
	var a common.Address
	g.r.Read(a[:])
	return a
}

func (g *gen) amount() *big.Int { return big.NewInt(g.r.Int63n(20)) }

// allocation returns n items to random external destinations.
func (g *gen) allocation(n int) []nitro.AllocationItem {
	items := make([]nitro.AllocationItem, n)
	for i := range items {
		items[i] = nitro.AllocationItem{Destination: nitro.AddressToDestination(g.addr()), Amount: g.amount()}
	}
	return items
}

func cloneItems(items []nitro.AllocationItem) []nitro.AllocationItem {
	out := make([]nitro.AllocationItem, len(items))
	for i, it := range items {
		out[i] = nitro.AllocationItem{Destination: it.Destination, Amount: new(big.Int).Set(it.Amount)}
	}
	return out
}

func (g *gen) encode(o nitro.Outcome) []byte {
	b, err := o.Encode()
	if err != nil {
		panic(err)
	}
	return b
}

func (g *gen) outcome(items []nitro.AllocationItem) []byte {
	return g.encode(nitro.Outcome{{AssetHolder: g.holder, Allocation: items}})
}

// junk is a random byte string, often not a valid encoding of anything.
func (g *gen) junk() []byte {
	b := make([]byte, g.r.Intn(100))
	g.r.Read(b)
	return b
}

// flags picks isFinalAB: mostly running states, every combination often.
func (g *gen) flags() [2]bool {
	switch x := g.r.Intn(20); {
	case x < 14:
		return [2]bool{false, false}
	case x < 17:
		return [2]bool{false, true}
	case x < 19:
		return [2]bool{true, true}
	default:
		return [2]bool{true, false}
	}
}

// turn picks turnNumB: mostly running turns (>= 2n), some setup turns.
func (g *gen) turn(n uint64) uint64 {
	if g.r.Intn(5) == 0 {
		return uint64(g.r.Int63n(int64(2 * n)))
	}
	return 2*n + uint64(g.r.Int63n(int64(4*n)))
}

// mutate sometimes replaces b with a copy of a (so setup and final rules
// see unchanged parts too) or corrupts a field.
func (g *gen) finish(t *transition) {
	switch g.r.Intn(12) {
	case 0:
		t.ab[1] = t.ab[0]
		t.what += ", b = a"
	case 1:
		t.ab[1].Outcome = t.ab[0].Outcome
		t.what += ", outcome kept"
	case 2:
		t.ab[1].AppData = t.ab[0].AppData
		t.what += ", appData kept"
	case 3:
		t.ab[g.r.Intn(2)].AppData = g.junk()
		t.what += ", junk appData"
	case 4:
		t.ab[g.r.Intn(2)].Outcome = g.junk()
		t.what += ", junk outcome"
	}
}

// trivial: any change, the app always agrees.
func (g *gen) trivial(app common.Address) transition {
	n := uint64(2 + g.r.Intn(3))
	a := apprules.VariablePart{Outcome: g.outcome(g.allocation(int(n))), AppData: g.junk()}
	b := apprules.VariablePart{Outcome: g.outcome(g.allocation(int(n))), AppData: g.junk()}
	t := transition{n: n, isFinal: g.flags(), ab: [2]apprules.VariablePart{a, b}, turnNumB: g.turn(n), app: app, what: "trivial"}
	g.finish(&t)
	return t
}

func word(x *big.Int) []byte { return common.BigToHash(x).Bytes() }

// counting: appData is abi.encode(uint256 counter); valid is counter+1
// with the outcome unchanged.
func (g *gen) counting(app common.Address) transition {
	n := uint64(2 + g.r.Intn(2))
	c := big.NewInt(g.r.Int63n(1000))
	out := g.outcome(g.allocation(int(n)))
	a := apprules.VariablePart{Outcome: out, AppData: word(c)}
	b := apprules.VariablePart{Outcome: out, AppData: word(new(big.Int).Add(c, big.NewInt(1)))}
	what := "counting +1"
	switch g.r.Intn(6) {
	case 0:
		b.AppData, what = word(new(big.Int).Add(c, big.NewInt(2))), "counting skipped"
	case 1:
		b.AppData, what = word(c), "counting unchanged"
	case 2:
		b.Outcome, what = g.outcome(g.allocation(int(n))), "counting outcome changed"
	}
	t := transition{n: n, isFinal: g.flags(), ab: [2]apprules.VariablePart{a, b}, turnNumB: g.turn(n), app: app, what: what}
	g.finish(&t)
	return t
}

// payments: the mover (turnNumB % n) may only give its own money away.
func (g *gen) payments(app common.Address) transition {
	n := uint64(2 + g.r.Intn(2))
	turn := g.turn(n)
	mover := int(turn % n)
	itemsA := g.allocation(int(n))
	itemsB := cloneItems(itemsA)
	// the mover pays someone part of what it has
	to := g.r.Intn(int(n))
	pay := new(big.Int)
	if itemsA[mover].Amount.Sign() > 0 {
		pay.Rand(g.r, new(big.Int).Add(itemsA[mover].Amount, big.NewInt(1)))
	}
	itemsB[mover].Amount.Sub(itemsB[mover].Amount, pay)
	itemsB[to].Amount.Add(itemsB[to].Amount, pay)
	what := "payment by the mover"
	outcomeB := func() []byte { return g.outcome(itemsB) }
	switch g.r.Intn(9) {
	case 0: // a non-mover pays: the mover takes the other's money
		other := (mover + 1 + g.r.Intn(int(n)-1)) % int(n)
		itemsB = cloneItems(itemsA)
		take := big.NewInt(1 + g.r.Int63n(5))
		itemsB[other].Amount.Sub(itemsB[other].Amount, take)
		if itemsB[other].Amount.Sign() < 0 {
			itemsB[other].Amount.SetInt64(0)
			take = new(big.Int).Set(itemsA[other].Amount)
		}
		itemsB[mover].Amount.Add(itemsB[mover].Amount, take)
		what = "the mover takes another's money"
	case 1:
		itemsB[g.r.Intn(int(n))].Destination = nitro.AddressToDestination(g.addr())
		what = "destination changed"
	case 2:
		x := itemsB[g.r.Intn(int(n))].Amount
		x.Add(x, big.NewInt(1+g.r.Int63n(3)))
		what = "total changed"
	case 3:
		itemsB = append(itemsB, g.allocation(1)...)
		what = "an allocation added"
	case 4:
		outcomeB = func() []byte {
			return g.encode(nitro.Outcome{{AssetHolder: g.holder, Allocation: itemsB}, {AssetHolder: g.addr(), Allocation: itemsB}})
		}
		what = "two assets"
	case 5:
		outcomeB = func() []byte {
			return g.encode(nitro.Outcome{{AssetHolder: g.holder, Guarantee: &nitro.Guarantee{TargetChannelID: common.Hash{1}, Destinations: []nitro.Bytes32{{2}}}}})
		}
		what = "a guarantee"
	}
	a := apprules.VariablePart{Outcome: g.outcome(itemsA), AppData: g.junk()}
	b := apprules.VariablePart{Outcome: outcomeB(), AppData: g.junk()}
	t := transition{n: n, isFinal: g.flags(), ab: [2]apprules.VariablePart{a, b}, turnNumB: turn, app: app, what: what}
	g.finish(&t)
	return t
}

// swapData is abi.encode(AppData{bytes32 h, bytes preImage}).
func swapData(h [32]byte, pre []byte) []byte {
	buf := append(word(big.NewInt(32)), h[:]...)
	buf = append(buf, word(big.NewInt(64))...)
	buf = append(buf, word(big.NewInt(int64(len(pre))))...)
	buf = append(buf, pre...)
	return append(buf, make([]byte, (32-len(pre)%32)%32)...)
}

// swap: at turn 4 of two parties, the preimage of a's hash swaps the amounts.
func (g *gen) swap(app common.Address) transition {
	pre := make([]byte, g.r.Intn(70))
	g.r.Read(pre)
	h := sha256.Sum256(pre)
	itemsA := g.allocation(2)
	itemsB := cloneItems(itemsA)
	itemsB[0].Amount, itemsB[1].Amount = itemsA[1].Amount, itemsA[0].Amount
	turn, n := uint64(4), uint64(2)
	preB := pre
	what := "swap"
	switch g.r.Intn(8) {
	case 0:
		preB, what = append(append([]byte(nil), pre...), 1), "wrong preimage"
	case 1:
		turn, what = g.turn(2), "swap at another turn"
	case 2:
		itemsB = cloneItems(itemsA)
		what = "amounts not swapped"
	case 3:
		itemsB[g.r.Intn(2)].Destination = nitro.AddressToDestination(g.addr())
		what = "destination changed"
	case 4:
		itemsA, itemsB = append(itemsA, g.allocation(1)...), append(itemsB, g.allocation(1)...)
		what = "three allocations"
	case 5:
		n, what = 3, "three participants"
	}
	a := apprules.VariablePart{Outcome: g.outcome(itemsA), AppData: swapData(h, nil)}
	b := apprules.VariablePart{Outcome: g.outcome(itemsB), AppData: swapData([32]byte{}, preB)}
	t := transition{n: n, isFinal: g.flags(), ab: [2]apprules.VariablePart{a, b}, turnNumB: turn, app: app, what: what}
	g.finish(&t)
	return t
}

func (t transition) String() string {
	return fmt.Sprintf("%s (n %d, turnNumB %d, isFinal %v)", t.what, t.n, t.turnNumB, t.isFinal)
}
