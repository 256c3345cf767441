package memory

// The ports.Chain view bound to one sending account: its submissions
// (Deposit, ConcludeAndTransferAll) and its reads (Holdings as of the
// newest confirmed block). Its event streams are in chain_events.go.

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"slices"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Account returns the ports.Chain view of the chain that sends its
// transactions from addr.
func (c *Chain) Account(addr nitro.Address) ports.Chain { return &chainAccount{c: c, from: addr} }

// chainAccount is the ports.Chain view bound to one sending account.
type chainAccount struct {
	c    *Chain
	from nitro.Address
}

var _ ports.Chain = (*chainAccount)(nil)

// ChainID implements ports.Chain.
func (a *chainAccount) ChainID() *big.Int { return new(big.Int).Set(a.c.chainID) }

// Protocol implements ports.ChainProtocol: the generation WithProtocol
// set (0.17.0 without it).
func (a *chainAccount) Protocol() nitro.Protocol { return a.c.protocol }

// AssetHolders implements ports.Chain: the ETH asset holder and every ERC20
// asset holder added so far.
func (a *chainAccount) AssetHolders() []nitro.Address {
	a.c.mu.Lock()
	defer a.c.mu.Unlock()
	out := make([]nitro.Address, 0, len(a.c.holders))
	out = append(out, a.c.ethHolder)
	for addr := range a.c.holders {
		if addr != a.c.ethHolder {
			out = append(out, addr)
		}
	}
	slices.SortFunc(out[1:], func(x, y nitro.Address) int { return bytes.Compare(x[:], y[:]) })
	return out
}

// Deposit implements ports.Chain: the asset holder's deposit(destination,
// expectedHeld, amount), sending amount wei with it for ETH.
func (a *chainAccount) Deposit(ctx context.Context, req ports.DepositRequest) (ports.TxHash, error) {
	if err := nitro.CheckAmount(req.ExpectedHeld); err != nil {
		return ports.TxHash{}, fmt.Errorf("memory chain: deposit expectedHeld: %w", err)
	}
	if err := nitro.CheckAmount(req.Amount); err != nil {
		return ports.TxHash{}, fmt.Errorf("memory chain: deposit amount: %w", err)
	}
	req.ExpectedHeld = new(big.Int).Set(req.ExpectedHeld)
	req.Amount = new(big.Int).Set(req.Amount)
	return a.c.submit(ctx, &chainTx{from: a.from, deposit: &req})
}

// ConcludeAndTransferAll implements ports.Chain:
// concludePushOutcomeAndTransferAll with the state's turn number as
// largestTurnNum, one state (so the contract hashes it with isFinal true),
// whoSignedWhat all zero and the signatures in participant order.
func (a *chainAccount) ConcludeAndTransferAll(ctx context.Context, req ports.ConcludeRequest) (ports.TxHash, error) {
	st := req.State
	if st.ChainID == nil {
		return ports.TxHash{}, fmt.Errorf("memory chain: conclude: %w", nitro.ErrBadChainID)
	}
	if len(st.Participants) <= nitro.MaxParticipants {
		// What a real adapter could not encode fails here, before any
		// transaction; more participants revert on chain.
		final := st
		final.IsFinal = true
		if _, err := final.Hash(); err != nil {
			return ports.TxHash{}, fmt.Errorf("memory chain: conclude: %w", err)
		}
	}
	cp := ports.ConcludeRequest{State: st.Clone(), Signatures: append([]nitro.Signature(nil), req.Signatures...)}
	return a.c.submit(ctx, &chainTx{from: a.from, conclude: &cp})
}

// Holdings implements ports.Chain: the holdings as of the newest confirmed
// block (the head without WithConfirmations). An address that is not an
// asset holder of this chain is an error (no contract code), not zero.
func (a *chainAccount) Holdings(ctx context.Context, asset nitro.Address, channelID nitro.Bytes32) (*big.Int, error) {
	c := a.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.gateLocked(ctx); err != nil {
		return nil, err
	}
	ah := c.holders[asset]
	if ah == nil {
		return nil, fmt.Errorf("memory chain: no asset holder at %s", asset)
	}
	return c.confirmedHoldingsLocked(asset, channelID), nil
}

// confirmedHoldingsLocked returns what asset held for channel id at the
// newest confirmed block: the head's value with the writes of the younger
// blocks undone.
func (c *Chain) confirmedHoldingsLocked(asset nitro.Address, id nitro.Bytes32) *big.Int {
	v := chainGet(c.holders[asset].holdings, id)
	for b := len(c.blocks) - 1; b > int(c.confirmedLocked()); b-- {
		txs := c.blocks[b].txs
		for i := len(txs) - 1; i >= 0; i-- {
			for j := len(txs[i].held) - 1; j >= 0; j-- {
				if h := txs[i].held[j]; h.asset == asset && h.id == id {
					v = h.old
				}
			}
		}
	}
	return new(big.Int).Set(v)
}

// gateLocked refuses calls whose context has ended or while the chain is down.
func (c *Chain) gateLocked(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if c.down {
		return fmt.Errorf("memory chain: down: %w", ports.ErrUnavailable)
	}
	return nil
}
