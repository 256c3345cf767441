package memory

// World helpers that set up and inspect the chain outside the ports.Chain
// views: deploying ERC20 asset holders, funding accounts, and reading
// balances, holdings and finality at the head.

import (
	"fmt"
	"math/big"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// ETHAssetHolder returns the ETH asset holder's address,
// keccak256("ETHAssetHolder")[12:].
func (c *Chain) ETHAssetHolder() nitro.Address { return c.ethHolder }

// AddERC20AssetHolder deploys an ERC20 asset holder for a new token called
// name, with an empty token ledger, and returns its address,
// keccak256("ERC20AssetHolder:" + name)[12:]. Adding the same name again
// returns the existing holder. Deposits need no approval.
func (c *Chain) AddERC20AssetHolder(name string) nitro.Address {
	addr := chainContractAddress("ERC20AssetHolder:" + name)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.holders[addr]; !ok {
		c.holders[addr] = &chainAssetHolder{
			addr: addr, erc20: true,
			holdings: map[nitro.Bytes32]*big.Int{},
			tokens:   map[nitro.Address]*big.Int{},
		}
	}
	return addr
}

// Fund credits amount wei to addr, outside any block. It panics if amount
// is negative.
func (c *Chain) Fund(addr nitro.Address, amount *big.Int) {
	if amount.Sign() < 0 {
		panic("memory: Fund with a negative amount")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.balances[addr] = new(big.Int).Add(chainGet(c.balances, addr), amount)
}

// Balance returns addr's ETH balance in wei.
func (c *Chain) Balance(addr nitro.Address) *big.Int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return new(big.Int).Set(chainGet(c.balances, addr))
}

// FundToken credits amount tokens of the ERC20 asset holder asset to addr,
// outside any block. It panics if asset is not an ERC20 asset holder of this
// chain or amount is negative.
func (c *Chain) FundToken(asset, addr nitro.Address, amount *big.Int) {
	if amount.Sign() < 0 {
		panic("memory: FundToken with a negative amount")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ah := c.erc20Locked(asset)
	ah.tokens[addr] = new(big.Int).Add(chainGet(ah.tokens, addr), amount)
}

// TokenBalance returns addr's balance of the token of the ERC20 asset holder
// asset (the holder's own address holds what is escrowed). It panics if asset
// is not an ERC20 asset holder of this chain.
func (c *Chain) TokenBalance(asset, addr nitro.Address) *big.Int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return new(big.Int).Set(chainGet(c.erc20Locked(asset).tokens, addr))
}

func (c *Chain) erc20Locked(asset nitro.Address) *chainAssetHolder {
	ah := c.holders[asset]
	if ah == nil || !ah.erc20 {
		panic(fmt.Sprintf("memory: %s is not an ERC20 asset holder", asset))
	}
	return ah
}

// ChannelHoldings returns what asset holds for channel id now (zero for an
// unknown asset holder).
func (c *Chain) ChannelHoldings(asset nitro.Address, id nitro.Bytes32) *big.Int {
	c.mu.Lock()
	defer c.mu.Unlock()
	ah := c.holders[asset]
	if ah == nil {
		return new(big.Int)
	}
	return new(big.Int).Set(chainGet(ah.holdings, id))
}

// Finalized reports whether the adjudicator has channel id finalized at the
// head block's time.
func (c *Chain) Finalized(id nitro.Bytes32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.finalizedLocked(id, c.head().time)
}

func (c *Chain) finalizedLocked(id nitro.Bytes32, now uint64) bool {
	st := c.status[id]
	return st.finalizesAt != 0 && st.finalizesAt <= now
}
