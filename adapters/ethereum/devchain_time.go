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
// does), and returns that block's hash. Serialized with Commit. The
// simulated chain only adjusts time on an empty block: transactions still
// pending (sent through Client, whose block sealed before the pool, which
// adopts a new head in the background, took them up) are mined first, at
// the old time, as Client meant them to be; it fails if some are still
// pending after that, or after Close.
func (d *DevChain) AdjustTime(dur time.Duration) (common.Hash, error) {
	if dur < time.Second {
		dur = time.Second
	}
	d.commit.Lock()
	defer d.commit.Unlock()
	if d.closed {
		return common.Hash{}, fmt.Errorf("ethereum: dev chain closed: adjust time: %w", ports.ErrUnavailable)
	}
	for tries := 1; ; tries++ {
		err := d.Backend.AdjustTime(dur)
		if err == nil {
			return d.Backend.Commit(), nil
		}
		if tries == maxPendingCommits {
			return common.Hash{}, fmt.Errorf("ethereum: dev chain: adjust time by %v: %w", dur, err)
		}
		d.Backend.Commit() // the pending transactions, at the old time
	}
}

// maxPendingCommits bounds the blocks AdjustTime mines for transactions
// still pending before it gives up.
const maxPendingCommits = 5
