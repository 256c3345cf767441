package ethereum

import "math/big"

// UnderpriceWhile makes the new transactions of a Chain built from cfg go
// out with a fee cap of 1 wei (below any base fee: they wait in the pool,
// unmined, until resubmitted) while on returns true. The geth fault tests
// use it to hold a transaction pending when the pool is lost.
func UnderpriceWhile(cfg *Config, on func() bool) {
	cfg.firstFeeCap = func(c *big.Int) *big.Int {
		if on() {
			return big.NewInt(1)
		}
		return c
	}
}
