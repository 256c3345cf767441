package watchtower

import (
	"context"
	"sync"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// MemoryStore is a Store in memory, for tests and demos: it forgets
// everything when the process ends.
type MemoryStore struct {
	mu     sync.Mutex
	proofs map[nitro.Bytes32]ports.WatchProof
	alarms map[nitro.Bytes32]Alarm
	cursor ports.Cursor
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{proofs: map[nitro.Bytes32]ports.WatchProof{}, alarms: map[nitro.Bytes32]Alarm{}}
}

// Put implements Store.
func (s *MemoryStore) Put(_ context.Context, p ports.WatchProof) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.proofs[p.ChannelID]; ok && old.Turn() >= p.Turn() {
		return false, nil
	}
	s.proofs[p.ChannelID] = cloneProof(p)
	return true, nil
}

// Get implements Store.
func (s *MemoryStore) Get(_ context.Context, id nitro.Bytes32) (ports.WatchProof, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.proofs[id]
	if !ok {
		return ports.WatchProof{}, ErrNotFound
	}
	return cloneProof(p), nil
}

// SetAlarm implements Store.
func (s *MemoryStore) SetAlarm(_ context.Context, a Alarm) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.alarms[a.ChannelID] = a
	return nil
}

// ClearAlarm implements Store.
func (s *MemoryStore) ClearAlarm(_ context.Context, id nitro.Bytes32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.alarms, id)
	return nil
}

// Alarms implements Store.
func (s *MemoryStore) Alarms(context.Context) ([]Alarm, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Alarm, 0, len(s.alarms))
	for _, a := range s.alarms {
		out = append(out, a)
	}
	return out, nil
}

// Cursor implements Store.
func (s *MemoryStore) Cursor(context.Context) (ports.Cursor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.cursor
	c.Recent = append([]ports.Checkpoint(nil), c.Recent...)
	return c, nil
}

// SetCursor implements Store.
func (s *MemoryStore) SetCursor(_ context.Context, c ports.Cursor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.Before(s.cursor) {
		return nil
	}
	c.Recent = append([]ports.Checkpoint(nil), c.Recent...)
	s.cursor = c
	return nil
}

// cloneProof copies p deeply enough that the caller cannot change what the
// store holds.
func cloneProof(p ports.WatchProof) ports.WatchProof {
	out := p
	out.Fixed.Participants = append([]nitro.Address(nil), p.Fixed.Participants...)
	out.Proof.States = make([]nitro.State, len(p.Proof.States))
	for i, st := range p.Proof.States {
		out.Proof.States[i] = st.Clone()
	}
	out.Proof.Signatures = append([]nitro.Signature(nil), p.Proof.Signatures...)
	out.Proof.WhoSignedWhat = append([]uint8(nil), p.Proof.WhoSignedWhat...)
	return out
}
