package apprules

import (
	"bytes"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
)

// TestCallEncodingIsTheABIs: the hand-written calldata equals go-ethereum's
// ABI encoder's for IForceMoveApp.validTransition, as read from the npm
// artifacts, for parts of every length class.
func TestCallEncodingIsTheABIs(t *testing.T) {
	apps, err := ethereum.LoadAppArtifacts("")
	if err != nil {
		t.Fatal(err)
	}
	type part struct{ Outcome, AppData []byte }
	sizes := []int{0, 1, 31, 32, 33, 64, 100}
	var prev []byte // a runner's buffer, dirty from the last call
	for _, i := range sizes {
		for _, j := range sizes {
			a := VariablePart{Outcome: bytes.Repeat([]byte{1}, i), AppData: bytes.Repeat([]byte{2}, j)}
			b := VariablePart{Outcome: bytes.Repeat([]byte{3}, j), AppData: bytes.Repeat([]byte{4}, i)}
			want, err := apps.TrivialApp.ABI.Pack("validTransition", part(a), part(b), big.NewInt(7), big.NewInt(3))
			if err != nil {
				t.Fatal(err)
			}
			if got := encodeCall(a, b, 7, 3); !bytes.Equal(got, want) {
				t.Fatalf("sizes %d, %d:\n got %x\nwant %x", i, j, got, want)
			}
			if prev = appendCall(prev[:0], a, b, 7, 3); !bytes.Equal(prev, want) {
				t.Fatalf("sizes %d, %d, into a used buffer:\n got %x\nwant %x", i, j, prev, want)
			}
		}
	}
}

// TestPanicInsideARunIsARefusal: a panic inside the EVM (here from the
// sandbox, as a bug in go-ethereum would) is recovered into a typed
// refusal, and the app still runs afterwards.
func TestPanicInsideARunIsARefusal(t *testing.T) {
	app, err := NewApp(common.Address{1}, hexutil.MustDecode("0x600160005260206000f3"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	app.hook = func() { panic("boom") }
	err = app.ValidTransition(VariablePart{}, VariablePart{}, 5, 2)
	if !errors.Is(err, ErrInvalidTransition) || !errors.Is(err, ErrAppFailed) || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("got %v, want a refusal for the panic", err)
	}
	app.hook = nil
	if err := app.ValidTransition(VariablePart{}, VariablePart{}, 5, 2); err != nil {
		t.Fatalf("after the panic: %v", err)
	}
}

// TestGuardAnalysis: solc's trailing metadata does not send an app to the
// guarded path; a reachable context opcode, or GAS not feeding a call, does.
func TestGuardAnalysis(t *testing.T) {
	for _, c := range []struct {
		code  string
		guard bool
	}{
		{"00" + "42", false},      // TIMESTAMP after STOP: dead
		{"6042", false},           // 0x42 is PUSH1 data
		{"600456" + "5b42", true}, // a JUMPDEST makes it reachable
		{"42", true},              // TIMESTAMP at the entry
		{"5a50", true},            // GAS, then POP
		{"5afa", false},           // GAS feeding STATICCALL
		{"6000f4", true},          // DELEGATECALL
		{"fe" + "5b33", true},     // CALLER after a JUMPDEST in the "data"
		{"7f5b33" + strings.Repeat("00", 30) + "00", false}, // JUMPDEST, CALLER inside PUSH32 data
	} {
		if got := needsGuard(hexutil.MustDecode("0x" + c.code)); got != c.guard {
			t.Errorf("needsGuard(%s) = %v, want %v", c.code, got, c.guard)
		}
	}
}

// TestConcurrentRuns: one App serves many goroutines at once (the shared
// JUMPDEST analysis is filled by the first), each getting its own verdict.
func TestConcurrentRuns(t *testing.T) {
	// CALLDATA word 3 (turnNumB) odd: return true; else revert "even".
	// PUSH1 0x44 CALLDATALOAD PUSH1 1 AND PUSH1 jump JUMPI, revert, JUMPDEST return true.
	revert := "60006000fd"
	code := "604435600116" + "600e57" + revert + "5b" + "600160005260206000f3"
	app, err := NewApp(common.Address{2}, hexutil.MustDecode("0x"+code), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := uint64(0); i < 200; i++ {
				err := app.ValidTransition(VariablePart{}, VariablePart{}, i, 2)
				if (err == nil) != (i%2 == 1) {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("wrong verdict: %v", err)
	}
}

// TestRunsReuseTheirEVM: an App keeps its EVMs for the next runs, so a
// run of a short app allocates little (19 allocations a run when each run
// built its own EVM, sandbox and block context); and a run refused midway
// (the opcode guard's panic) does not disturb the runs after it.
func TestRunsReuseTheirEVM(t *testing.T) {
	// turnNumB odd: TIMESTAMP (refused); even: return true.
	code := "604435600116" + "601357" + "600160005260206000f3" + "5b" + "4200"
	app, err := NewApp(common.Address{3}, hexutil.MustDecode("0x"+code), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !app.Guarded() {
		t.Fatal("the app reaches TIMESTAMP: it must run guarded")
	}
	for i := uint64(0); i < 50; i++ {
		err := app.ValidTransition(VariablePart{}, VariablePart{}, i, 2)
		if i%2 == 0 && err != nil || i%2 == 1 && !errors.Is(err, ErrAppForbidden) {
			t.Fatalf("turn %d: %v", i, err)
		}
	}
	if raceEnabled {
		return
	}
	allocs := testing.AllocsPerRun(200, func() {
		if err := app.ValidTransition(VariablePart{}, VariablePart{}, 4, 2); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 8 {
		t.Errorf("%.1f allocations a run, want at most 8", allocs)
	}
}
