package apprules

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/state"
	"github.com/ethereum/go-ethereum/core/stateless"
	"github.com/ethereum/go-ethereum/core/tracing"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/types/bal"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
)

// forbidden is the panic value by which the sandbox stops an app that
// reaches outside its own code; App.ValidTransition recovers it.
type forbidden struct{ what string }

// sandbox is the whole world an app runs in: its own code at its own
// address, and the precompiles. It implements vm.StateDB. Every read of
// anything else (another account, any balance, any storage) and every write
// panics with forbidden: a STATICCALL already refuses writes, and a fresh
// state could only answer reads with zeros the chain would not give.
type sandbox struct {
	app         *App
	precompiles map[common.Address]vm.PrecompiledContract
	frames      int // call frames entered (each takes a snapshot)
}

var _ vm.StateDB = (*sandbox)(nil)

func (s *sandbox) deny(what string, addr common.Address) {
	panic(forbidden{what: what + " " + addr.Hex()})
}

func (s *sandbox) isPrecompile(addr common.Address) bool {
	_, ok := s.precompiles[addr]
	return ok
}

// own reports whether addr is the app; any other address but a
// precompile is denied.
func (s *sandbox) own(what string, addr common.Address) bool {
	if addr == s.app.addr {
		return true
	}
	if !s.isPrecompile(addr) {
		s.deny(what, addr)
	}
	return false
}

func (s *sandbox) CreateAccount(addr common.Address) { s.own("create account", addr) }
func (s *sandbox) CreateContract(addr common.Address) {
	s.deny("create contract", addr)
}
func (s *sandbox) SubBalance(addr common.Address, _ *uint256.Int, _ tracing.BalanceChangeReason) uint256.Int {
	s.deny("debit", addr)
	return uint256.Int{}
}

// AddBalance is only called with zero, by STATICCALL to touch its target:
// the app (the run's own call, the first frame) or a precompile.
func (s *sandbox) AddBalance(addr common.Address, v *uint256.Int, _ tracing.BalanceChangeReason) uint256.Int {
	if !v.IsZero() {
		s.deny("credit", addr)
	}
	if s.own("call", addr) && s.frames > 1 {
		s.deny("call itself at", addr)
	}
	return uint256.Int{}
}
func (s *sandbox) GetBalance(addr common.Address) *uint256.Int {
	s.deny("read the balance of", addr)
	return nil
}
func (s *sandbox) GetNonce(addr common.Address) uint64 {
	s.deny("read the nonce of", addr)
	return 0
}
func (s *sandbox) SetNonce(addr common.Address, _ uint64, _ tracing.NonceChangeReason) {
	s.deny("set the nonce of", addr)
}
func (s *sandbox) GetCodeHash(addr common.Address) common.Hash {
	if s.own("read the code hash of", addr) {
		return s.app.codeHash
	}
	return common.Hash{}
}
func (s *sandbox) GetCode(addr common.Address) []byte {
	if s.app.hook != nil {
		s.app.hook()
	}
	if s.own("read the code of", addr) {
		return s.app.code
	}
	return nil
}
func (s *sandbox) SetCode(addr common.Address, _ []byte, _ tracing.CodeChangeReason) []byte {
	s.deny("set the code of", addr)
	return nil
}
func (s *sandbox) GetCodeSize(addr common.Address) int {
	if s.own("read the code size of", addr) {
		return len(s.app.code)
	}
	return 0
}
func (s *sandbox) AddRefund(uint64)  {}
func (s *sandbox) SubRefund(uint64)  {}
func (s *sandbox) GetRefund() uint64 { return 0 }
func (s *sandbox) GetStateAndCommittedState(addr common.Address, _ common.Hash) (common.Hash, common.Hash) {
	s.deny("read the storage of", addr)
	return common.Hash{}, common.Hash{}
}
func (s *sandbox) GetState(addr common.Address, _ common.Hash) common.Hash {
	s.deny("read the storage of", addr)
	return common.Hash{}
}
func (s *sandbox) SetState(addr common.Address, _, _ common.Hash) common.Hash {
	s.deny("write the storage of", addr)
	return common.Hash{}
}

// GetTransientState answers zero: in the adjudicator's static call the
// app's transient storage is empty, and the app cannot write it.
func (s *sandbox) GetTransientState(common.Address, common.Hash) common.Hash { return common.Hash{} }
func (s *sandbox) SetTransientState(addr common.Address, _, _ common.Hash) {
	s.deny("write the transient storage of", addr)
}
func (s *sandbox) SelfDestruct(addr common.Address)      { s.deny("self-destruct", addr) }
func (s *sandbox) HasSelfDestructed(common.Address) bool { return false }

// Exist is asked by CALL only (the run enters the app by STATICCALL), so
// the app asking about itself is the app calling itself.
func (s *sandbox) Exist(addr common.Address) bool {
	if s.own("call", addr) {
		s.deny("call itself at", addr)
	}
	return false
}
func (s *sandbox) Touch(common.Address)                         {}
func (s *sandbox) IsNewContract(common.Address) bool            { return false }
func (s *sandbox) Empty(addr common.Address) bool               { return !s.own("look at", addr) }
func (s *sandbox) AddressInAccessList(addr common.Address) bool { return true }
func (s *sandbox) SlotInAccessList(common.Address, common.Hash) (bool, bool) {
	return true, true
}
func (s *sandbox) AddAddressToAccessList(common.Address)           {}
func (s *sandbox) AddSlotToAccessList(common.Address, common.Hash) {}
func (s *sandbox) Prepare(params.Rules, common.Address, common.Address, *common.Address, []common.Address, types.AccessList) {
}
func (s *sandbox) RevertToSnapshot(int) {}
func (s *sandbox) Snapshot() int        { s.frames++; return 0 }
func (s *sandbox) AddLog(*types.Log) {
	panic(forbidden{what: "log"})
}
func (s *sandbox) AddPreimage(common.Hash, []byte)                        {}
func (s *sandbox) Witness() *stateless.Witness                            { return nil }
func (s *sandbox) AccessEvents() *state.AccessEvents                      { return nil }
func (s *sandbox) Finalise(params.Rules) *bal.ConstructionBlockAccessList { return nil }
func (s *sandbox) SetTxContext(common.Hash, int, uint32)                  {}
