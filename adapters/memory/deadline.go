package memory

import (
	"context"
	"fmt"

	"github.com/nitrowallet/nitrowallet/ports"
)

// ended is the error of a call whose context has ended, before it reads or
// writes anything: ports.ErrStoreTimeout wrapping the context's error.
func ended(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory store: %w: %w", ports.ErrStoreTimeout, err)
	}
	return nil
}
