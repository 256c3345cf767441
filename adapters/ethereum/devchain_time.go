package ethereum

import (
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/nitrowallet/nitrowallet/ports"
)

// AdjustTime moves the dev chain's clock: it seals an empty block whose
// timestamp is d (whole seconds, at least 1) after the head's, then mines
// one more block (so the transaction pool adopts the new head, as Fund
// does), and returns that block's hash. Serialized with Commit; it fails
// if transactions are pending (the simulated chain only adjusts time on
// an empty block) or after Close.
func (d *DevChain) AdjustTime(dur time.Duration) (common.Hash, error) {
	if dur < time.Second {
		dur = time.Second
	}
	d.commit.Lock()
	defer d.commit.Unlock()
	if d.closed {
		return common.Hash{}, fmt.Errorf("ethereum: dev chain closed: adjust time: %w", ports.ErrUnavailable)
	}
	if err := d.Backend.AdjustTime(dur); err != nil {
		return common.Hash{}, fmt.Errorf("ethereum: dev chain: adjust time by %v: %w", dur, err)
	}
	return d.Backend.Commit(), nil
}
