package ethereum

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ethereum/go-ethereum"
)

// TestReceiptNotYet: a receipt not found, or one a node still indexing its
// transactions cannot give (geth --dev answered so right after it started,
// failing TestGethDevNode's deploy in a CI run), is polled again; any
// other error is the call's.
func TestReceiptNotYet(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{ethereum.NotFound, true},
		{fmt.Errorf("wrapped: %w", ethereum.NotFound), true},
		{errors.New("transaction indexing is in progress"), true},
		{errors.New("connection refused"), false},
		{errors.New("execution reverted"), false},
	} {
		if got := receiptNotYet(c.err); got != c.want {
			t.Errorf("receiptNotYet(%q) = %v, want %v", c.err, got, c.want)
		}
	}
}
