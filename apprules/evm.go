package apprules

import (
	"errors"
	"fmt"
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// DefaultGasCap is the gas one validTransition may use unless
// Options.GasCap says otherwise: the 6,000,000 of the TypeScript wallet's
// NITRO_MAX_GAS for a whole adjudicator transaction, so an app that needs
// more could not be proven on chain by it either.
const DefaultGasCap = 6_000_000

// Options bound an app's runs.
type Options struct {
	// GasCap is the gas a run may use (0 means DefaultGasCap). It also
	// bounds time and memory: see MaxMemory.
	GasCap uint64
	// EVMOnly runs every transition in the EVM, also for an app the
	// package knows natively (App.Native: SingleAssetPayments 0.17.0): for
	// differential checks and benchmarks. The verdicts are the same.
	EVMOnly bool
}

// ErrBadOptions reports unusable Options.
var ErrBadOptions = errors.New("apprules: bad options")

// maxGasCap keeps MaxMemory's figure (and a run's time) sane.
const maxGasCap = 1 << 30

// MaxMemory returns the most EVM memory, in bytes, a run with the given
// gas cap can expand to: memory costs 3 gas a word plus words²/512, and an
// app can call no other code that would have memory of its own
// (precompiles aside, whose output is bounded by their input).
func MaxMemory(gasCap uint64) uint64 {
	lo, hi := uint64(0), uint64(1)<<32
	for lo < hi { // the largest w with 3w + w²/512 <= gasCap
		w := (lo + hi + 1) / 2
		if 3*w+w*w/512 <= gasCap {
			lo = w
		} else {
			hi = w - 1
		}
	}
	return 32 * lo
}

// App is one app's runtime bytecode (what eth_getCode returns at its
// appDefinition), ready to run its validTransition. What can be computed
// once is: the code hash, whether it needs the opcode guard, the block
// context, the JUMPDEST analysis (after the first run) and the EVMs
// themselves, kept for the next run (runners). It is safe for concurrent
// use.
type App struct {
	addr     common.Address
	code     []byte
	codeHash common.Hash
	gasCap   uint64
	guarded  bool
	block    vm.BlockContext
	dests    *jumpDests
	runners  sync.Pool  // *runner
	hook     func()     // tests only: called on each sandbox read of code
	native   nativeRule // nil: every run in the EVM (native.go)
}

// runner is an EVM set up to run one app, with its sandbox and a calldata
// buffer: what a run needs besides its calldata. Runs take one from the
// App's pool and put it back when they end normally, so a run costs no
// EVM, sandbox, block context or jump table set-up (about half the
// allocations of a short run, see BenchmarkValidTransition). A run that
// panics drops its runner.
type runner struct {
	evm   *vm.EVM
	box   *sandbox
	tx    vm.TxContext
	input []byte
}

// maxKeptInput bounds the calldata buffer a runner keeps between runs.
const maxKeptInput = 64 << 10

func (a *App) newRunner() *runner {
	cfg := vm.Config{}
	if a.guarded {
		cfg.Tracer = guard
	}
	box := &sandbox{app: a, precompiles: precompiles}
	evm := vm.NewEVM(a.block, box, chainConfig, cfg)
	evm.SetJumpDestCache(a.dests)
	return &runner{evm: evm, box: box, tx: vm.TxContext{Origin: caller, GasPrice: new(uint256.Int)}}
}

// NewApp prepares the runtime code found at addr. Empty code is ErrNoApp.
func NewApp(addr common.Address, code []byte, opts Options) (*App, error) {
	if len(code) == 0 {
		return nil, &Error{Kind: ErrNoApp, Detail: "no code at " + addr.Hex()}
	}
	if opts.GasCap == 0 {
		opts.GasCap = DefaultGasCap
	}
	if opts.GasCap > maxGasCap {
		return nil, fmt.Errorf("%w: gas cap %d above %d", ErrBadOptions, opts.GasCap, maxGasCap)
	}
	code = append([]byte(nil), code...)
	h := crypto.Keccak256Hash(code)
	a := &App{
		addr: addr, code: code, codeHash: h, gasCap: opts.GasCap,
		guarded: needsGuard(code), block: blockContext(opts.GasCap), dests: &jumpDests{hash: h},
	}
	if !opts.EVMOnly && opts.GasCap >= nativeMinGasCap {
		a.native = natives[h]
	}
	return a, nil
}

// Native reports whether the app's valid transitions are judged in Go
// (its code is one the package knows, such as SingleAssetPayments 0.17.0):
// the EVM then runs only for transitions the Go rule does not find valid,
// and gives their refusal.
func (a *App) Native() bool { return a.native != nil }

// Address returns the app's address (its appDefinition).
func (a *App) Address() common.Address { return a.addr }

// Guarded reports whether the app's runs go through the opcode guard
// (slower: its code may reach an opcode that reads the block or the
// transaction).
func (a *App) Guarded() bool { return a.guarded }

// chainConfig gives the local EVM mainnet's rules of today (the dev
// chain's without its Bogota state-gas repricing); it is never modified.
var chainConfig = func() *params.ChainConfig {
	c := *params.AllDevChainProtocolChanges
	c.BogotaTime = nil
	return &c
}()

var (
	blockRules  = chainConfig.Rules(new(big.Int), true, 0)
	precompiles = vm.ActivePrecompiledContracts(blockRules)
	random      = common.Hash{}
	// caller stands in for the adjudicator, which the app cannot see
	// (CALLER is a context opcode).
	caller = common.Address{}
)

// blockContext is the block an app's runs see; its values are only read.
func blockContext(gasCap uint64) vm.BlockContext {
	return vm.BlockContext{
		CanTransfer: func(_ vm.StateDB, _ common.Address, v *uint256.Int) bool { return v.IsZero() },
		Transfer: func(_ vm.StateDB, _, to common.Address, v *uint256.Int, _ *params.Rules) {
			if !v.IsZero() {
				panic(forbidden{what: "transfer value to " + to.Hex()})
			}
		},
		GetHash:     func(uint64) common.Hash { panic(forbidden{what: "use BLOCKHASH"}) },
		GasLimit:    gasCap,
		BlockNumber: new(big.Int),
		Difficulty:  new(big.Int),
		BaseFee:     new(big.Int),
		BlobBaseFee: new(big.Int),
		Random:      &random,
	}
}

// ValidTransition runs the app's validTransition(a, b, turnNumB,
// nParticipants) as the adjudicator calls it: a static call with the same
// calldata, in a sandbox holding only the app's code, with at most the gas
// cap. It returns nil when the app returns true, and otherwise an *Error
// whose Reason and RevertData are what the adjudicator would revert with:
// the app's own revert, "Invalid ForceMoveApp Transition" for false, or
// nothing for an exceptional halt. Anything the app does outside its code
// (ErrAppForbidden) and any panic inside the EVM are refusals too. For a
// Native app, a transition its Go rule finds valid returns nil without a
// run: the same verdict, sooner.
func (a *App) ValidTransition(x, y VariablePart, turnNumB, nParticipants uint64) (err error) {
	if turnNumB > nitro.MaxUint48 {
		return &Error{Kind: ErrBadArguments, Detail: "turnNumB exceeds uint48"}
	}
	if a.native != nil && a.native(x, y, turnNumB, nParticipants) {
		return nil
	}
	r, _ := a.runners.Get().(*runner)
	if r == nil {
		r = a.newRunner()
	}
	r.input = appendCall(r.input[:0], x, y, turnNumB, nParticipants)
	r.box.frames = 0
	r.evm.SetTxContext(r.tx) // also forgets the last run's local JUMPDEST layer
	defer func() {
		if rec := recover(); rec != nil {
			err = recovered(rec) // r is dropped: the run stopped midway
		}
	}()
	ret, _, vmErr := r.evm.StaticCall(caller, a.addr, r.input, vm.NewGasBudget(a.gasCap, 0))
	if cap(r.input) > maxKeptInput {
		r.input = nil
	}
	a.runners.Put(r)
	return verdict(ret, vmErr)
}

// recovered turns a panic inside a run into a refusal.
func recovered(r any) error {
	if f, ok := r.(forbidden); ok {
		return &Error{Kind: ErrAppForbidden, Detail: "the app tried to " + f.what}
	}
	return &Error{Kind: ErrAppFailed, Detail: fmt.Sprintf("panic in the EVM: %v", r)}
}

// verdict reads the app's answer as the adjudicator does.
func verdict(ret []byte, vmErr error) error {
	switch {
	case errors.Is(vmErr, vm.ErrExecutionReverted):
		e := &Error{Kind: ErrAppReverted, RevertData: ret}
		if reason, err := abi.UnpackRevert(ret); err == nil {
			e.Reason = reason
		}
		return e
	case vmErr != nil:
		return &Error{Kind: ErrAppFailed, Detail: vmErr.Error(), Cause: vmErr}
	case len(ret) < 32:
		// The adjudicator's ABI decoder reverts without a reason.
		return &Error{Kind: ErrAppFailed, Detail: fmt.Sprintf("returned %d bytes, not a bool", len(ret))}
	}
	var w uint256.Int
	w.SetBytes(ret[:32])
	switch {
	case w.IsZero():
		return protocolError(ErrAppReturnedFalse, ReasonInvalidAppTransition)
	case w.IsUint64() && w.Uint64() == 1:
		return nil
	default:
		return &Error{Kind: ErrAppFailed, Detail: "returned a word that is not a bool"}
	}
}
