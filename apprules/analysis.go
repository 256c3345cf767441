package apprules

import (
	"sync/atomic"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/vm"
)

// refusedOps are the opcodes an app is refused for executing
// (ErrAppForbidden): those that read the block or the transaction it runs
// in, where a local run would see made-up values and the chain real ones,
// and DELEGATECALL and CALLCODE, which would run other code (or the app's
// own, in a frame with memory of its own) in the app's place. Reads of
// state (BALANCE, SELFBALANCE, SLOAD, EXTCODE* of others) and calls to
// anything but a precompile are refused by the sandbox itself.
var refusedOps = [256]bool{
	vm.ORIGIN: true, vm.CALLER: true, vm.GASPRICE: true, vm.BLOCKHASH: true,
	vm.COINBASE: true, vm.TIMESTAMP: true, vm.NUMBER: true, vm.PREVRANDAO: true,
	vm.GASLIMIT: true, vm.CHAINID: true, vm.BASEFEE: true, vm.BLOBHASH: true,
	vm.BLOBBASEFEE: true, vm.SLOTNUM: true, vm.DELEGATECALL: true, vm.CALLCODE: true,
}

// callOps are the opcodes GAS may feed: solc reads the gas left only to
// forward it to a call (here, to a precompile).
var callOps = [256]bool{vm.CALL: true, vm.STATICCALL: true}

// ends are the opcodes after which execution does not fall through.
var ends = [256]bool{vm.STOP: true, vm.JUMP: true, vm.RETURN: true, vm.REVERT: true, vm.INVALID: true, vm.SELFDESTRUCT: true}

// needsGuard reports whether code may execute a refused opcode, or GAS
// other than right before a call: whether it runs under the opcode guard.
// Reachable code is over-approximated as the interpreter decodes it (push
// data skipped from offset 0): the entry, and every JUMPDEST, each followed
// until an opcode that ends the flow. So solc's trailing metadata, whose
// bytes often look like such opcodes, does not count unless a JUMPDEST in
// it makes it reachable. Code that needs no guard runs on the
// interpreter's untraced fast path.
func needsGuard(code []byte) bool {
	isInstr := make([]bool, len(code))
	for pc := 0; pc < len(code); pc++ {
		isInstr[pc] = true
		if op := vm.OpCode(code[pc]); op.IsPush() {
			pc += int(op - vm.PUSH0)
		}
	}
	visited := make([]bool, len(code))
	walk := func(start int) bool {
		for pc := start; pc < len(code) && !visited[pc]; pc++ {
			visited[pc] = true
			op := vm.OpCode(code[pc])
			if refusedOps[op] || op == vm.GAS && !callOps[opAt(code, pc+1)] {
				return true
			}
			if ends[op] {
				return false
			}
			if op.IsPush() {
				pc += int(op - vm.PUSH0)
			}
		}
		return false
	}
	if walk(0) {
		return true
	}
	for pc, b := range code {
		if isInstr[pc] && vm.OpCode(b) == vm.JUMPDEST && walk(pc) {
			return true
		}
	}
	return false
}

func opAt(code []byte, pc int) vm.OpCode {
	if pc < len(code) {
		return vm.OpCode(code[pc])
	}
	return vm.STOP
}

// guard is the opcode hook of guarded runs: it stops the app, by a panic
// App.ValidTransition recovers, at the first refused opcode, or GAS not
// feeding a call.
var guard = &tracing.Hooks{OnOpcode: func(pc uint64, op byte, _, _ uint64, scope tracing.OpContext, _ []byte, _ int, _ error) {
	if refusedOps[op] {
		panic(forbidden{what: "use " + vm.OpCode(op).String()})
	}
	if vm.OpCode(op) == vm.GAS && !callOps[opAt(scope.ContractCode(), int(pc)+1)] {
		panic(forbidden{what: "use GAS other than for a call"})
	}
}}

// jumpDests is an app's JUMPDEST analysis, kept across runs: the EVM
// analyses the code once, on its first jump, and every later run reuses it.
// It is safe for concurrent use.
type jumpDests struct {
	hash common.Hash
	vec  atomic.Pointer[vm.BitVec]
}

// Load returns the analysis of the app's code.
func (j *jumpDests) Load(h common.Hash) (vm.BitVec, bool) {
	if v := j.vec.Load(); v != nil && h == j.hash {
		return *v, true
	}
	return nil, false
}

// Store keeps the analysis of the app's code.
func (j *jumpDests) Store(h common.Hash, v vm.BitVec) {
	if h == j.hash {
		j.vec.Store(&v)
	}
}
