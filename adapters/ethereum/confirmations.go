package ethereum

import (
	"errors"
	"fmt"
	"math/big"
)

// DefaultConfirmations is the confirmation depth of a Chain on a node when
// Config.Confirmations is 0 and Config.Dev is not set: 12 blocks, about
// 2.4 minutes on Ethereum with 12-second slots. Reorgs on proof-of-stake
// Ethereum rarely go past one or two blocks, and a block is final after two
// epochs (64 blocks, about 13 minutes), so 12 leaves a wide margin for the
// reorgs that do happen while keeping funding fast; set Confirmations to 64
// to wait for finality, or to what another chain's finality needs. The
// app's TxRetryDelay (600 s by default) must stay above the time a
// transaction takes to reach this depth.
const DefaultConfirmations = 12

// ErrNotDevChain is returned by New for Config.Dev on a chain whose id is
// not a dev chain's, 1337 (geth --dev and go-ethereum's simulated chain) or
// 31337 (anvil and hardhat): a public network must never get a zero
// confirmation depth by mistake.
var ErrNotDevChain = errors.New("ethereum: Config.Dev is only allowed on a dev chain id")

// Confirmations is the confirmation depth the chain applies (after
// defaults): its event streams and Holdings see a block only once that many
// blocks sit on top of it.
func (c *Chain) Confirmations() uint64 { return c.cfg.Confirmations }

// confirmations is the depth a chain with id gets from cfg: cfg's own, or
// the default for a dev chain (0) or a node (DefaultConfirmations).
func confirmations(cfg Config, id *big.Int) (uint64, error) {
	dev := id.IsInt64() && (id.Int64() == 1337 || id.Int64() == 31337)
	switch {
	case cfg.Dev && !dev:
		return 0, fmt.Errorf("%w: chain id %s", ErrNotDevChain, id)
	case cfg.Confirmations > 0:
		return cfg.Confirmations, nil
	case cfg.Dev:
		return 0, nil
	}
	return DefaultConfirmations, nil
}
