package apprules_test

import (
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"

	"github.com/nitrowallet/nitrowallet/apprules"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// fakeApp records whether it was asked and answers with err.
type fakeApp struct {
	called bool
	err    error
}

func (f *fakeApp) ValidTransition(_, _ apprules.VariablePart, _, _ uint64) error {
	f.called = true
	return f.err
}

// TestProtocolRule walks ForceMove's _requireValidProtocolTransition
// branch by branch: which revert string each gives, and when the app is
// asked (only for a running transition past turn 2n - 1).
func TestProtocolRule(t *testing.T) {
	x := apprules.VariablePart{Outcome: []byte{1}, AppData: []byte{2}}
	outcome := apprules.VariablePart{Outcome: []byte{9}, AppData: []byte{2}}
	data := apprules.VariablePart{Outcome: []byte{1}, AppData: []byte{9}}
	appSays := &apprules.Error{Kind: apprules.ErrAppReverted, Reason: "no"}
	for _, c := range []struct {
		name    string
		final   [2]bool
		b       apprules.VariablePart
		turnB   uint64
		app     error
		want    error
		reason  string
		asksApp bool
	}{
		{"final, outcome kept, app data changed", [2]bool{false, true}, data, 9, appSays, nil, "", false},
		{"final, outcome changed", [2]bool{true, true}, outcome, 9, nil, apprules.ErrOutcomeChangeVerboten, apprules.ReasonOutcomeChangeVerboten, false},
		{"final to running", [2]bool{true, false}, x, 9, nil, apprules.ErrIsFinalRetrograde, apprules.ReasonIsFinalRetrograde, false},
		{"setup, unchanged", [2]bool{}, x, 3, appSays, nil, "", false},
		{"setup, outcome changed", [2]bool{}, outcome, 3, nil, apprules.ErrOutcomeChangeForbidden, apprules.ReasonOutcomeChangeForbidden, false},
		{"setup, app data changed", [2]bool{}, data, 3, nil, apprules.ErrAppDataChangeForbidden, apprules.ReasonAppDataChangeForbidden, false},
		{"first running turn, app agrees", [2]bool{}, outcome, 4, nil, nil, "", true},
		{"first running turn, app refuses", [2]bool{}, outcome, 4, appSays, apprules.ErrAppReverted, "no", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			app := &fakeApp{err: c.app}
			err := apprules.RequireValidTransition(2, c.final, [2]apprules.VariablePart{x, c.b}, c.turnB, app)
			if app.called != c.asksApp {
				t.Fatalf("app asked: %v, want %v", app.called, c.asksApp)
			}
			if c.want == nil {
				if err != nil {
					t.Fatalf("got %v, want valid", err)
				}
				return
			}
			if !errors.Is(err, apprules.ErrInvalidTransition) || !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if r, ok := apprules.Reason(err); !ok || r != c.reason {
				t.Fatalf("reason %q, want %q", r, c.reason)
			}
		})
	}
	if err := apprules.RequireValidTransition(2, [2]bool{}, [2]apprules.VariablePart{x, x}, 4, nil); !errors.Is(err, apprules.ErrNoApp) {
		t.Fatalf("no app: got %v", err)
	}
	if err := apprules.RequireValidTransition(2, [2]bool{}, [2]apprules.VariablePart{x, x}, nitro.MaxUint48+1, nil); !errors.Is(err, apprules.ErrBadArguments) {
		t.Fatalf("turn beyond uint48: got %v", err)
	}
}

// TestStatesTransition: ValidTransition on wallet states encodes their
// variable parts and takes n, isFinal and turnNumB from them.
func TestStatesTransition(t *testing.T) {
	a := nitro.State{
		ChainID: big.NewInt(1337), Participants: []nitro.Address{{1}, {2}}, AppDefinition: common.Address{3},
		Outcome: nitro.Outcome{{AssetHolder: common.Address{4}, Allocation: []nitro.AllocationItem{
			{Destination: common.Hash{5}, Amount: big.NewInt(5)}, {Destination: common.Hash{6}, Amount: big.NewInt(3)}}}},
		TurnNum: 3,
	}
	b := a.Clone()
	b.TurnNum = 4
	b.Outcome[0].Allocation[0].Amount.SetInt64(4)
	b.Outcome[0].Allocation[1].Amount.SetInt64(4)
	app := &fakeApp{}
	if err := apprules.ValidTransition(a, b, app); err != nil || !app.called {
		t.Fatalf("turn 4 of 2: %v, app asked %v", err, app.called)
	}
	b.TurnNum = 3 // a setup turn: the outcome may not change
	if err := apprules.ValidTransition(a, b, app); !errors.Is(err, apprules.ErrOutcomeChangeForbidden) {
		t.Fatalf("turn 3 of 2: %v", err)
	}
	b.Outcome[0].Allocation[0].Amount.SetInt64(-1)
	if err := apprules.ValidTransition(a, b, app); !errors.Is(err, nitro.ErrAmountOutOfRange) {
		t.Fatalf("negative amount: %v", err)
	}
}

// TestNpmAppsRunUnguarded: the four npm apps' code reaches no refused
// opcode, so they run on the interpreter's fast path; their metadata's
// stray bytes do not count.
func TestNpmAppsRunUnguarded(t *testing.T) {
	c := newTestChain(t)
	for _, name := range appNames {
		if c.local[c.apps[name]].Guarded() {
			t.Errorf("%s runs guarded", name)
		}
	}
}

// sawApp checks that the parts it is asked about are the states' own
// encodings: the outcomes Encode gives and the app data, in order.
type sawApp struct{ want [2]apprules.VariablePart }

func (s sawApp) ValidTransition(a, b apprules.VariablePart, _, _ uint64) error {
	for i, got := range [2]apprules.VariablePart{a, b} {
		if string(got.Outcome) != string(s.want[i].Outcome) || string(got.AppData) != string(s.want[i].AppData) {
			return errors.New("the app was given other parts than the states'")
		}
	}
	return nil
}

// TestValidTransitionOfStatesEncodesEach: ValidTransition on states gives
// the app each state's outcome encoding (into buffers it reuses between
// calls) and app data; calls of every size, from many goroutines at once,
// each see their own.
func TestValidTransitionOfStatesEncodesEach(t *testing.T) {
	state := func(items, turn int) nitro.State {
		alloc := make([]nitro.AllocationItem, items)
		for i := range alloc {
			alloc[i] = nitro.AllocationItem{Destination: nitro.Bytes32{31: byte(i)}, Amount: big.NewInt(int64(turn*100 + i))}
		}
		return nitro.State{
			Participants: make([]nitro.Address, 2), TurnNum: uint64(turn), AppData: []byte{byte(turn), byte(items)},
			Outcome: nitro.Outcome{{AssetHolder: common.Address{byte(items)}, Allocation: alloc}},
		}
	}
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			var err error
			for i := range 300 {
				a, b := state(1+(g+i)%7, 4+i), state(1+(g*3+i)%11, 5+i)
				want := [2]apprules.VariablePart{}
				for j, s := range []nitro.State{a, b} {
					if want[j], err = apprules.VariablePartOf(s); err != nil {
						break
					}
				}
				if err == nil {
					err = apprules.ValidTransition(a, b, sawApp{want})
				}
				if err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
