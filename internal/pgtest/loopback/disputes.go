package loopback

import (
	"context"
	"errors"
	"fmt"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// ErrNoDisputes: the loopback server does not serve the dispute calls
// (the crash tests that use it never dispute).
var ErrNoDisputes = errors.New("loopback chain: dispute calls are not served")

// Challenge implements ports.Disputes: not served.
func (c *Chain) Challenge(context.Context, ports.ChallengeRequest) (ports.TxHash, error) {
	return ports.TxHash{}, fmt.Errorf("challenge: %w", ErrNoDisputes)
}

// Respond implements ports.Disputes: not served.
func (c *Chain) Respond(context.Context, ports.RespondRequest) (ports.TxHash, error) {
	return ports.TxHash{}, fmt.Errorf("respond: %w", ErrNoDisputes)
}

// Checkpoint implements ports.Disputes: not served.
func (c *Chain) Checkpoint(context.Context, ports.CheckpointRequest) (ports.TxHash, error) {
	return ports.TxHash{}, fmt.Errorf("checkpoint: %w", ErrNoDisputes)
}

// PushOutcomeAndTransferAll implements ports.Disputes: not served.
func (c *Chain) PushOutcomeAndTransferAll(context.Context, ports.PushOutcomeRequest) (ports.TxHash, error) {
	return ports.TxHash{}, fmt.Errorf("push outcome: %w", ErrNoDisputes)
}

// Record implements ports.Disputes: not served.
func (c *Chain) Record(context.Context, nitro.Bytes32) (ports.ChannelRecord, error) {
	return ports.ChannelRecord{}, fmt.Errorf("record: %w", ErrNoDisputes)
}

// BlockTime implements ports.Disputes: not served.
func (c *Chain) BlockTime(context.Context) (uint64, error) {
	return 0, fmt.Errorf("block time: %w", ErrNoDisputes)
}
