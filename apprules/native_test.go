package apprules

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"math/rand"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// sapApps returns SingleAssetPayments 0.17.0 from the npm artifact twice:
// as the wallet prepares it (native) and run only in the EVM.
func sapApps(t testing.TB) (native, evm *App) {
	t.Helper()
	arts, err := ethereum.LoadAppArtifacts("")
	if err != nil {
		t.Fatal(err)
	}
	code := arts.SingleAssetPayments.Runtime
	addr := common.HexToAddress("0x5a9")
	if native, err = NewApp(addr, code, Options{}); err != nil {
		t.Fatal(err)
	}
	if evm, err = NewApp(addr, code, Options{EVMOnly: true}); err != nil {
		t.Fatal(err)
	}
	return native, evm
}

// TestNativeAppsAreTheNpmApps: the native rule is keyed to the npm
// artifact's SingleAssetPayments code and to nothing else, and is off
// under EVMOnly or a gas cap too small for the bounds it judges within.
func TestNativeAppsAreTheNpmApps(t *testing.T) {
	arts, err := ethereum.LoadAppArtifacts("")
	if err != nil {
		t.Fatal(err)
	}
	if h := crypto.Keccak256Hash(arts.SingleAssetPayments.Runtime); h != singleAssetPaymentsCodeHash {
		t.Fatalf("the npm SingleAssetPayments runtime hashes to %s, the native rule is keyed to %s", h, singleAssetPaymentsCodeHash)
	}
	for _, a := range []ethereum.Artifact{arts.TrivialApp, arts.CountingApp, arts.SingleAssetPayments, arts.HashLockedSwap} {
		app, err := NewApp(common.Address{1}, a.Runtime, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if want := a.Name == "SingleAssetPayments"; app.Native() != want {
			t.Errorf("%s: Native() = %v, want %v", a.Name, app.Native(), want)
		}
	}
	sap := arts.SingleAssetPayments.Runtime
	for _, o := range []Options{{EVMOnly: true}, {GasCap: nativeMinGasCap - 1}} {
		app, err := NewApp(common.Address{1}, sap, o)
		if err != nil {
			t.Fatal(err)
		}
		if app.Native() {
			t.Errorf("%+v: native", o)
		}
	}
	// One byte of difference (here in the metadata hash at the end) is
	// another app.
	other := append([]byte(nil), sap...)
	other[len(other)-10] ^= 1
	if app, _ := NewApp(common.Address{1}, other, Options{}); app.Native() {
		t.Error("a modified SingleAssetPayments is native")
	}
}

// sapCase is one transition for the differential checks.
type sapCase struct {
	a, b      VariablePart
	turn, n   uint64
	what      string
	canonical bool // both outcomes as Outcome.Encode writes them, within the native bounds
}

func (c sapCase) String() string {
	return fmt.Sprintf("%s (n %d, turn %d, outcomes %d/%d B, appData %d/%d B)", c.what, c.n, c.turn, len(c.a.Outcome), len(c.b.Outcome), len(c.a.AppData), len(c.b.AppData))
}

var two256 = new(big.Int).Lsh(big.NewInt(1), 256)

// sapGen makes SingleAssetPayments transitions from a seeded source:
// payments by the mover and every kind of cheat, amounts small and near
// 2^256 (where the contract's sums wrap), and corrupted encodings.
type sapGen struct{ r *rand.Rand }

func (g sapGen) amount() *big.Int {
	switch g.r.Intn(4) {
	case 0: // near 2^256
		return new(big.Int).Sub(two256, big.NewInt(1+g.r.Int63n(5)))
	case 1: // any uint256
		b := make([]byte, 32)
		g.r.Read(b)
		return new(big.Int).SetBytes(b)
	default:
		return big.NewInt(g.r.Int63n(1000))
	}
}

// sapOutcome is the encoding of one asset holder's allocation of items.
func sapOutcome(holder nitro.Address, items []nitro.AllocationItem) []byte {
	b, err := nitro.Outcome{{AssetHolder: holder, Allocation: items}}.Encode()
	if err != nil {
		panic(err)
	}
	return b
}

func (g sapGen) appData() []byte {
	var n int
	switch g.r.Intn(10) {
	case 0:
		n = nativeMaxAppData - 1 + g.r.Intn(3) // at the bound
	case 1:
		n = g.r.Intn(2000)
	default:
		n = g.r.Intn(100)
	}
	b := make([]byte, n)
	g.r.Read(b)
	return b
}

func mod256(x *big.Int) *big.Int { return x.Mod(x, two256) }

func (g sapGen) next() sapCase {
	n := uint64(1 + g.r.Intn(3))
	if g.r.Intn(10) == 0 {
		n = uint64(1 + g.r.Intn(nativeMaxParticipants+2))
	}
	turn := uint64(g.r.Int63n(1 << 48))
	if g.r.Intn(2) == 0 {
		turn = uint64(2*n) + uint64(g.r.Intn(10))
	}
	mover := int(turn % n)
	var holder nitro.Address
	g.r.Read(holder[:])
	itemsA := make([]nitro.AllocationItem, n)
	for i := range itemsA {
		var d nitro.Bytes32
		g.r.Read(d[12:])
		itemsA[i] = nitro.AllocationItem{Destination: d, Amount: g.amount()}
	}
	itemsB := make([]nitro.AllocationItem, n)
	for i, it := range itemsA {
		itemsB[i] = nitro.AllocationItem{Destination: it.Destination, Amount: new(big.Int).Set(it.Amount)}
	}
	// The mover pays d to someone, modulo 2^256 on both sides (so the sums
	// agree; a payment of more than the mover has wraps its balance, which
	// the contract allows; one that wraps the payee's does not).
	to := g.r.Intn(int(n))
	d := g.amount()
	mod256(itemsB[mover].Amount.Sub(itemsB[mover].Amount, d))
	mod256(itemsB[to].Amount.Add(itemsB[to].Amount, d))
	what := "payment by the mover"
	switch g.r.Intn(10) {
	case 0:
		j := g.r.Intn(int(n))
		mod256(itemsB[j].Amount.Sub(itemsB[j].Amount, big.NewInt(1+g.r.Int63n(3))))
		what = "an amount decreased"
	case 1:
		g.r.Read(itemsB[g.r.Intn(int(n))].Destination[12:])
		what = "destination changed"
	case 2:
		j := g.r.Intn(int(n))
		mod256(itemsB[j].Amount.Add(itemsB[j].Amount, big.NewInt(1+g.r.Int63n(3))))
		what = "an amount increased"
	case 3:
		g.r.Read(holder[:])
		what = "another asset holder in b"
	}
	c := sapCase{n: n, turn: turn, what: what, a: VariablePart{Outcome: sapOutcome(holder, itemsA), AppData: g.appData()}}
	c.b = VariablePart{Outcome: sapOutcome(holder, itemsB), AppData: g.appData()}
	switch g.r.Intn(8) {
	case 0:
		c.corrupt(g.r)
	case 1: // an allocation of another length
		m := int(n) + 1
		if g.r.Intn(2) == 0 {
			m = int(n) - 1
		}
		items := make([]nitro.AllocationItem, max(m, 0))
		for i := range items {
			items[i] = nitro.AllocationItem{Amount: big.NewInt(1)}
		}
		c.b.Outcome, c.what = sapOutcome(holder, items), c.what+", b has "+fmt.Sprint(m)+" items"
	case 2: // two assets, or a guarantee
		o := nitro.Outcome{{AssetHolder: holder, Allocation: itemsB}, {AssetHolder: holder, Allocation: itemsB}}
		if g.r.Intn(2) == 0 {
			o = nitro.Outcome{{AssetHolder: holder, Guarantee: &nitro.Guarantee{TargetChannelID: common.Hash{1}, Destinations: []nitro.Bytes32{{2}}}}}
		}
		b, err := o.Encode()
		if err != nil {
			panic(err)
		}
		c.b.Outcome, c.what = b, c.what+", b not one allocation"
	default:
		c.canonical = n <= nativeMaxParticipants && len(c.a.AppData) <= nativeMaxAppData && len(c.b.AppData) <= nativeMaxAppData
	}
	return c
}

// corrupt changes one outcome's bytes: a byte, a word, or its length.
func (c *sapCase) corrupt(r *rand.Rand) {
	p := &c.a.Outcome
	if r.Intn(2) == 0 {
		p = &c.b.Outcome
	}
	o := append([]byte(nil), *p...)
	switch r.Intn(4) {
	case 0:
		o[r.Intn(len(o))] ^= byte(1 + r.Intn(255))
		c.what += ", a byte flipped"
	case 1:
		w := 32 * r.Intn(len(o)/32)
		clear(o[w : w+32])
		o[w+31] = byte(r.Intn(0x100))
		c.what += fmt.Sprintf(", word at %#x set to %d", w, o[w+31])
	case 2:
		o = o[:len(o)-32*(1+r.Intn(2))]
		c.what += ", cut short"
	default:
		o = append(o, make([]byte, 32)...)
		c.what += ", a word appended"
	}
	*p = o
}

// checkAgainstEVM fails unless the native rule says valid only where the
// EVM does and the App (native first) gives exactly the EVM's verdict. It
// returns the native and the EVM verdicts.
func checkAgainstEVM(t testing.TB, native, evm *App, c sapCase) (nativeValid, evmValid bool) {
	t.Helper()
	nv := singleAssetPaymentsValid(c.a, c.b, c.turn, c.n)
	ev := evm.ValidTransition(c.a, c.b, c.turn, c.n)
	if nv && ev != nil {
		t.Fatalf("%v: native valid, EVM %v", c, ev)
	}
	got := native.ValidTransition(c.a, c.b, c.turn, c.n)
	var ge, ee *Error
	switch {
	case (got == nil) != (ev == nil):
		t.Fatalf("%v: App %v, EVM %v", c, got, ev)
	case got != nil && (!errors.As(got, &ge) || !errors.As(ev, &ee) || ge.Kind != ee.Kind || !bytes.Equal(ge.RevertData, ee.RevertData)):
		t.Fatalf("%v: App %v, EVM %v", c, got, ev)
	}
	return nv, ev == nil
}

// TestNativeAgreesWithEVM is the differential check of the native
// SingleAssetPayments against the npm artifact's code in the EVM over
// seeded random transitions: the native rule never says valid where the
// code does not, says valid wherever the code does for canonical
// outcomes within its bounds (so the fast path is the one taken), and the
// App's verdicts and revert data are the EVM's throughout.
func TestNativeAgreesWithEVM(t *testing.T) {
	native, evm := sapApps(t)
	g := sapGen{r: rand.New(rand.NewSource(int64(envSeed(t))))}
	var nativeValid, evmValid, canonicalValid int
	kinds := map[string]int{}
	const runs = 10000
	for range runs {
		c := g.next()
		nv, ev := checkAgainstEVM(t, native, evm, c)
		if c.canonical && ev && !nv {
			t.Fatalf("%v: the EVM says valid, the native rule is not sure", c)
		}
		if nv {
			nativeValid++
			kinds[c.what]++
		}
		if ev {
			evmValid++
			if c.canonical {
				canonicalValid++
			}
		}
	}
	t.Logf("%d transitions: %d valid in the EVM (%d canonical), %d valid natively; native-valid kinds %v", runs, evmValid, canonicalValid, nativeValid, kinds)
	if nativeValid < canonicalValid || nativeValid < runs/10 {
		t.Fatalf("native valid %d, canonical valid %d: the generator no longer exercises the fast path", nativeValid, canonicalValid)
	}
}

// envSeed is NITROWALLET_APPRULES_SEED, or a new seed logged for replay.
func envSeed(t testing.TB) uint64 {
	t.Helper()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("NITROWALLET_APPRULES_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("NITROWALLET_APPRULES_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Logf("seed %d (NITROWALLET_APPRULES_SEED=%d to replay)", seed, seed)
	return seed
}

// TestNativeWorstCaseWithinGas: at the native bounds (the most
// participants and app data it judges), a valid SingleAssetPayments
// transition is valid in the EVM with the smallest gas cap under which
// the native rule is used, so no valid native verdict can be an out of
// gas in the EVM; past the bounds the native rule is not used.
func TestNativeWorstCaseWithinGas(t *testing.T) {
	arts, err := ethereum.LoadAppArtifacts("")
	if err != nil {
		t.Fatal(err)
	}
	evm, err := NewApp(common.Address{1}, arts.SingleAssetPayments.Runtime, Options{EVMOnly: true, GasCap: nativeMinGasCap})
	if err != nil {
		t.Fatal(err)
	}
	items := make([]nitro.AllocationItem, nativeMaxParticipants)
	for i := range items {
		items[i] = nitro.AllocationItem{Destination: nitro.Bytes32{31: byte(i)}, Amount: new(big.Int).Sub(two256, big.NewInt(int64(i+1)))}
	}
	// Mover 0 (turn 2n) pays participant 1 one unit; the sums wrap.
	paid := make([]nitro.AllocationItem, len(items))
	copy(paid, items)
	paid[0].Amount = new(big.Int).Sub(items[0].Amount, big.NewInt(1))
	paid[1].Amount = new(big.Int).Add(items[1].Amount, big.NewInt(1))
	a := VariablePart{Outcome: sapOutcome(nitro.Address{}, items), AppData: make([]byte, nativeMaxAppData)}
	b := VariablePart{Outcome: sapOutcome(nitro.Address{}, paid), AppData: bytes.Repeat([]byte{0xff}, nativeMaxAppData)}
	turn := uint64(2 * nativeMaxParticipants)
	if !singleAssetPaymentsValid(a, b, turn, nativeMaxParticipants) {
		t.Fatal("the worst case is not natively valid: the test no longer tests the bound")
	}
	if err := evm.ValidTransition(a, b, turn, nativeMaxParticipants); err != nil {
		t.Fatalf("at the native bounds with gas cap %d: %v", nativeMinGasCap, err)
	}
	tooBig := VariablePart{Outcome: b.Outcome, AppData: make([]byte, nativeMaxAppData+1)}
	if singleAssetPaymentsValid(a, tooBig, turn, nativeMaxParticipants) {
		t.Error("app data past the bound judged natively")
	}
}

// FuzzSingleAssetPaymentsNative is the differential fuzz of the native
// SingleAssetPayments against the npm artifact's code in the EVM: from
// canonical transitions, the fuzzer flips, cuts and grows the outcomes'
// bytes and changes the turn and the number of participants, and the
// native rule must never say valid where the EVM does not, nor the App
// give another verdict than the EVM's (make fuzz).
func FuzzSingleAssetPaymentsNative(f *testing.F) {
	native, evm := sapApps(f)
	g := sapGen{r: rand.New(rand.NewSource(5))}
	for seeds := 0; seeds < 16; {
		c := g.next()
		if c.canonical && c.n <= 3 {
			f.Add(c.a.Outcome, c.b.Outcome, c.a.AppData, c.b.AppData, c.turn, uint8(c.n))
			seeds++
		}
	}
	f.Fuzz(func(t *testing.T, outA, outB, dataA, dataB []byte, turn uint64, n uint8) {
		c := sapCase{
			a: VariablePart{Outcome: outA, AppData: dataA}, b: VariablePart{Outcome: outB, AppData: dataB},
			turn: turn & nitro.MaxUint48, n: uint64(n), what: "fuzzed",
		}
		checkAgainstEVM(t, native, evm, c)
	})
}
