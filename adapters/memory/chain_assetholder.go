package memory

// The asset holder contracts (ETHAssetHolder and ERC20AssetHolders): their
// holdings and token ledgers, deposit, and the payout of a concluded
// channel's allocation.

import (
	"fmt"
	"math/big"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

var chainMaxUint256 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))

// chainAssetHolder is one asset holder contract: its holdings per channel
// and, for an ERC20 asset holder, the token ledger of its token (the holder's
// own address holds the escrowed tokens). The ETH escrow is the holder's
// balance in Chain.balances.
type chainAssetHolder struct {
	addr     nitro.Address
	erc20    bool
	holdings map[nitro.Bytes32]*big.Int
	tokens   map[nitro.Address]*big.Int
}

// deposit models ETHAssetHolder.deposit and ERC20AssetHolder.deposit.
func (x *chainExec) deposit(req ports.DepositRequest) error {
	c := x.c
	ah := c.holders[req.Asset]
	if ah == nil {
		return chainRevert(ChainReasonNoCode)
	}
	if !ah.erc20 && chainGet(c.balances, x.from).Cmp(req.Amount) < 0 {
		// The node refuses a transaction whose value exceeds the balance.
		return fmt.Errorf("memory chain: %s cannot send %s wei: %w", x.from, req.Amount, ports.ErrInsufficientFunds)
	}
	if nitro.IsExternalDestination(req.ChannelID) {
		return chainRevert(ChainReasonExternalDestination)
	}
	held := chainGet(ah.holdings, req.ChannelID)
	if held.Cmp(req.ExpectedHeld) < 0 {
		return chainRevert(ports.ReasonHoldingsBelowExpected)
	}
	target := new(big.Int).Add(req.ExpectedHeld, req.Amount)
	if target.Cmp(chainMaxUint256) > 0 {
		return chainRevert(ChainReasonAdditionOverflow)
	}
	if held.Cmp(target) >= 0 {
		return chainRevert(ports.ReasonHoldingsSufficient)
	}
	deposited := new(big.Int).Sub(target, held)
	if ah.erc20 {
		// transferFrom pulls only what is deposited.
		if chainGet(ah.tokens, x.from).Cmp(deposited) < 0 {
			return fmt.Errorf("%w (%w)", chainRevert(ChainReasonERC20Balance), ports.ErrInsufficientFunds)
		}
		x.move(ah.tokens, x.from, ah.addr, deposited)
	} else {
		// The sender pays amount and is refunded amount - deposited.
		x.move(c.balances, x.from, ah.addr, deposited)
	}
	now := new(big.Int).Add(held, deposited)
	x.setHoldings(ah, req.ChannelID, now)
	x.emit(core.ChainEvent{
		Kind: core.EventDeposited, ChannelID: req.ChannelID, Asset: ah.addr,
		AmountDeposited: new(big.Int).Set(deposited), Holdings: new(big.Int).Set(now),
	})
	return nil
}

// transferAll models AssetHolder.transferAllAdjudicatorOnly: the allocation
// is paid in order out of the channel's holdings, each item getting
// min(amount, what is left).
func (x *chainExec) transferAll(id nitro.Bytes32, ao nitro.AssetOutcome) error {
	if ao.Guarantee != nil {
		return chainRevert(ChainReasonNotAllocation)
	}
	ah := x.c.holders[ao.AssetHolder]
	if ah == nil {
		return chainRevert(ChainReasonNoCode)
	}
	initial := chainGet(ah.holdings, id)
	surplus := new(big.Int).Set(initial)
	total := new(big.Int)
	pays := make([]*big.Int, len(ao.Allocation))
	for i, it := range ao.Allocation {
		pay := new(big.Int).Set(it.Amount)
		if pay.Cmp(surplus) > 0 {
			pay.Set(surplus)
		}
		surplus.Sub(surplus, pay)
		total.Add(total, pay)
		pays[i] = pay
	}
	x.setHoldings(ah, id, new(big.Int).Sub(initial, total))
	for i, it := range ao.Allocation {
		if pays[i].Sign() == 0 {
			continue
		}
		if !nitro.IsExternalDestination(it.Destination) {
			x.setHoldings(ah, it.Destination, new(big.Int).Add(chainGet(ah.holdings, it.Destination), pays[i]))
			continue
		}
		to := nitro.DestinationToAddress(it.Destination)
		if ah.erc20 {
			if to == (nitro.Address{}) {
				return chainRevert(ChainReasonERC20ZeroAddress)
			}
			x.move(ah.tokens, ah.addr, to, pays[i])
			continue
		}
		if x.c.isContract(to) {
			// The adjudicator and asset holders have no payable fallback.
			return chainRevert(ChainReasonETHTransfer)
		}
		x.move(x.c.balances, ah.addr, to, pays[i])
	}
	x.emit(core.ChainEvent{
		Kind: core.EventAllocationUpdated, ChannelID: id, Asset: ah.addr,
		InitialHoldings: new(big.Int).Set(initial),
	})
	return nil
}

func (c *Chain) isContract(a nitro.Address) bool {
	_, ok := c.holders[a]
	return ok || a == c.adjudicator
}
