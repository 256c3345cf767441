package memory

import (
	"bytes"
	"context"
	"slices"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// evidenceKey is what one equivocation record is kept per.
type evidenceKey struct {
	channel nitro.Bytes32
	signer  nitro.Address
}

// RecordEquivocation keeps the first record per channel and signer.
func (s *Store) RecordEquivocation(ctx context.Context, ev core.EquivocationError) error {
	if err := ended(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := evidenceKey{ev.ChannelID, ev.Signer}
	if _, ok := s.evidence[k]; !ok {
		s.evidence[k] = cloneEvidence(ev)
	}
	return nil
}

// Equivocations returns copies of every record, by channel then signer.
func (s *Store) Equivocations(ctx context.Context) ([]core.EquivocationError, error) {
	if err := ended(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]core.EquivocationError, 0, len(s.evidence))
	for _, ev := range s.evidence {
		out = append(out, cloneEvidence(ev))
	}
	slices.SortFunc(out, func(a, b core.EquivocationError) int {
		if c := bytes.Compare(a.ChannelID[:], b.ChannelID[:]); c != 0 {
			return c
		}
		return bytes.Compare(a.Signer[:], b.Signer[:])
	})
	return out, nil
}

func cloneEvidence(ev core.EquivocationError) core.EquivocationError {
	for i, ss := range ev.States {
		ev.States[i] = core.SignedState{State: ss.State.Clone(), Participants: slices.Clone(ss.Participants), Signatures: slices.Clone(ss.Signatures)}
	}
	return ev
}
