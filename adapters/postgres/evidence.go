package postgres

import (
	"context"
	"fmt"
	"math"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/wire"
)

// RecordEquivocation keeps the first record per channel and signer, durable
// when it returns. The evidence is stored as a wire-format message holding
// both signed states.
func (s *Store) RecordEquivocation(ctx context.Context, ev core.EquivocationError) error {
	if ev.TurnNum > math.MaxInt64 {
		return fmt.Errorf("postgres store: equivocation turn %d out of range", ev.TurnNum)
	}
	data, err := wire.EncodeMessage(core.Message{Payload: core.Payload{SignedStates: ev.States[:]}})
	if err != nil {
		return fmt.Errorf("postgres store: encode equivocation: %w", err)
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO equivocations (channel_id, signer, turn_num, evidence)
		VALUES ($1, $2, $3, $4) ON CONFLICT (channel_id, signer) DO NOTHING`,
		ev.ChannelID[:], ev.Signer[:], int64(ev.TurnNum), data)
	if err != nil {
		return callError(ctx, "record equivocation", err)
	}
	return nil
}

// Equivocations returns every record, by channel then signer.
func (s *Store) Equivocations(ctx context.Context) ([]core.EquivocationError, error) {
	var rows []struct {
		ChannelID []byte `db:"channel_id"`
		Signer    []byte `db:"signer"`
		TurnNum   int64  `db:"turn_num"`
		Evidence  []byte `db:"evidence"`
	}
	if err := s.db.SelectContext(ctx, &rows, "SELECT channel_id, signer, turn_num, evidence FROM equivocations ORDER BY channel_id, signer"); err != nil {
		return nil, callError(ctx, "list equivocations", err)
	}
	out := make([]core.EquivocationError, 0, len(rows))
	for _, r := range rows {
		m, err := wire.DecodeMessage(r.Evidence, wire.Limits{})
		if err != nil {
			return nil, fmt.Errorf("postgres store: equivocation row unreadable: %w", err)
		}
		if len(m.Payload.SignedStates) != 2 || len(r.ChannelID) != 32 || len(r.Signer) != 20 {
			return nil, fmt.Errorf("postgres store: equivocation row of %d states unreadable", len(m.Payload.SignedStates))
		}
		ev := core.EquivocationError{TurnNum: uint64(r.TurnNum)}
		copy(ev.ChannelID[:], r.ChannelID)
		copy(ev.Signer[:], r.Signer)
		copy(ev.States[:], m.Payload.SignedStates)
		out = append(out, ev)
	}
	return out, nil
}
