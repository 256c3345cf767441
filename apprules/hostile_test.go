package apprules_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/vm"

	"github.com/nitrowallet/nitrowallet/apprules"
)

// initCode wraps runtime code in a constructor that returns it:
// PUSH2 len DUP1 PUSH1 12 PUSH1 0 CODECOPY PUSH1 0 RETURN.
func initCode(runtime []byte) []byte {
	n := len(runtime)
	return append([]byte{0x61, byte(n >> 8), byte(n), 0x80, 0x60, 12, 0x60, 0, 0x39, 0x60, 0, 0xf3}, runtime...)
}

func code(s string) []byte { return hexutil.MustDecode("0x" + s) }

// returnTrue stores 1 and returns it as one word.
const returnTrue = "600160005260206000f3"

// hostileApps are hand-assembled runtimes. agree says the deployed
// adjudicator must give the same verdict and revert data; apps refused as
// forbidden may be judged otherwise on chain (the local rule is stricter:
// it refuses what it cannot judge as the chain would).
var hostileApps = []struct {
	name  string
	code  []byte
	kind  error // the local refusal, nil for valid
	cause error // the EVM error under it, if any
	agree bool
}{
	{"infinite loop", code("5b600056"), apprules.ErrAppFailed, vm.ErrOutOfGas, true},
	{"memory growing 4 kB a turn", code("60005b80515061100001600256"), apprules.ErrAppFailed, vm.ErrOutOfGas, true},
	{"memory at 4 GB", code("63ffffffff51"), apprules.ErrAppFailed, vm.ErrOutOfGas, true},
	// SELFDESTRUCT's gas function refuses the static call, as out of gas.
	{"selfdestruct", code("6000ff"), apprules.ErrAppFailed, vm.ErrOutOfGas, true},
	{"invalid opcode", code("fe"), apprules.ErrAppFailed, nil, true},
	{"stack underflow", code("01"), apprules.ErrAppFailed, nil, true},
	{"returns false", code("600060005260206000f3"), apprules.ErrAppReturnedFalse, nil, true},
	{"returns 2", code("600260005260206000f3"), apprules.ErrAppFailed, nil, true},
	{"returns one byte", code("600160005360016000f3"), apprules.ErrAppFailed, nil, true},
	{"returns nothing", code("00"), apprules.ErrAppFailed, nil, true},
	{"returns true and more", code("600160005260406000f3"), nil, nil, true},
	{"reverts with custom data", code("63deadbeef60e01b60005260046000fd"), apprules.ErrAppReverted, nil, true},
	{"reverts with nothing", code("60006000fd"), apprules.ErrAppReverted, nil, true},
	{"sha256 precompile", code("6020600060006000600260" + "5a" + "fa50" + returnTrue)[0:0], nil, nil, true}, // replaced below
	{"calls out", code("60008080808061dead61fffff150" + returnTrue), apprules.ErrAppForbidden, nil, false},
	{"static-calls out", code("600080808061dead61fffffa50" + returnTrue), apprules.ErrAppForbidden, nil, false},
	{"static-calls itself", code("6000808080305afa50" + returnTrue), apprules.ErrAppForbidden, nil, false},
	{"calls itself", code("600080808080305af150" + returnTrue), apprules.ErrAppForbidden, nil, false},
	{"delegate-calls a precompile", code("6000808080600461fffff450" + returnTrue), apprules.ErrAppForbidden, nil, false},
	{"reads storage", code("60005450" + returnTrue), apprules.ErrAppForbidden, nil, false},
	{"reads its balance", code("473150" + returnTrue)[0:0], apprules.ErrAppForbidden, nil, false}, // replaced below
	{"reads another's code size", code("61dead3b50" + returnTrue), apprules.ErrAppForbidden, nil, false},
	{"reads the timestamp", code("4250" + returnTrue), apprules.ErrAppForbidden, nil, false},
	{"reads the block hash", code("600040" + "50" + returnTrue), apprules.ErrAppForbidden, nil, false},
	{"reads the gas left", code("5a50" + returnTrue), apprules.ErrAppForbidden, nil, false},
}

func init() {
	for i := range hostileApps {
		switch hostileApps[i].name {
		case "sha256 precompile": // STATICCALL(gas, 2, 0, 0, 0, 32), then true
			hostileApps[i].code = code("60206000600060006002" + "5a" + "fa50" + returnTrue)
		case "reads its balance": // SELFBALANCE
			hostileApps[i].code = code("4750" + returnTrue)
		}
	}
}

// TestHostileApps deploys hand-assembled apps and checks each local
// verdict is typed (ErrInvalidTransition and its kind, never a panic or a
// hang: gas bounds every run) and, where the chain can agree, equal to the
// deployed adjudicator's.
func TestHostileApps(t *testing.T) {
	c := newTestChain(t)
	g := &gen{r: newRand(1), holder: c.d.Deployment.ETHAssetHolder}
	for _, h := range hostileApps {
		t.Run(h.name, func(t *testing.T) {
			addr := c.deploy(t, initCode(h.code))
			tr := g.trivial(addr)
			tr.isFinal, tr.turnNumB, tr.what = [2]bool{}, 2*tr.n+1, h.name
			local := apprules.RequireValidTransition(tr.n, tr.isFinal, tr.ab, tr.turnNumB, c.checker(addr))
			if h.kind == nil {
				if local != nil {
					t.Fatalf("local verdict %v, want valid", local)
				}
			} else if !errors.Is(local, apprules.ErrInvalidTransition) || !errors.Is(local, h.kind) {
				t.Fatalf("local verdict %v, want %v", local, h.kind)
			}
			if local != nil && strings.Contains(local.Error(), "panic") {
				t.Fatalf("local verdict %v came through the recovery of a panic", local)
			}
			if h.cause != nil && !errors.Is(local, h.cause) {
				t.Fatalf("local verdict %v, want it to wrap %v", local, h.cause)
			}
			if h.agree {
				var tl tally
				c.compare(t, tr, 1, &tl)
				return
			}
			valid, revert := c.onChain(t, tr)
			t.Logf("local: %v; chain: valid=%v revert %x (the local rule is stricter)", local, valid, revert)
		})
	}
}

// TestMemoryIsBounded: an app that grows its memory until its gas runs out
// makes the Go heap grow by no more than MaxMemory (plus slack for the
// EVM's own buffers), and MaxMemory of the default cap is about 1.7 MB.
func TestMemoryIsBounded(t *testing.T) {
	if got := apprules.MaxMemory(apprules.DefaultGasCap); got < 1_700_000 || got > 1_800_000 {
		t.Fatalf("MaxMemory(%d) = %d", apprules.DefaultGasCap, got)
	}
	app, err := apprules.NewApp(common.Address{1}, code("60005b80515061100001600256"), apprules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err = app.ValidTransition(apprules.VariablePart{}, apprules.VariablePart{}, 5, 2)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, vm.ErrOutOfGas) {
		t.Fatalf("got %v, want out of gas", err)
	}
	// The EVM grows memory by appending, reallocating by a quarter each
	// time, so its allocations add up to about five times the final size;
	// at most two of them are live at once.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 6*apprules.MaxMemory(apprules.DefaultGasCap)+1<<20 {
		t.Fatalf("a run allocated %d bytes, MaxMemory is %d", grew, apprules.MaxMemory(apprules.DefaultGasCap))
	}
}
