package memory

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"

	"github.com/nitrowallet/nitrowallet/adapters/internal/storecodec"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Store keeps channels and the outbox in memory. Values are copied in and
// out, so callers never share state with it. A call whose context has
// ended returns ports.ErrStoreTimeout and changes nothing. Safe for
// concurrent use.
//
// A channel is held encoded as the PostgreSQL store writes it
// (adapters/internal/storecodec): one byte slice, in which the states
// share their fixed part and repeated outcomes, about 1.3 kB for a running
// two-party channel against 3 kB for a core.Channel copy. Get decodes it.
type Store struct {
	mu       sync.RWMutex
	channels map[nitro.Bytes32][]byte
	outbox   []ports.OutboxEntry
	nextID   uint64
	nonces   map[string]uint64
	cursor   ports.Cursor
	evidence map[evidenceKey]core.EquivocationError
	apps     map[nitro.Address][]byte // registered apps' code (apps.go)
}

var _ ports.Store = (*Store)(nil)

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{
		channels: map[nitro.Bytes32][]byte{}, nonces: map[string]uint64{}, nextID: 1,
		evidence: map[evidenceKey]core.EquivocationError{},
	}
}

// Get returns a copy of a channel.
func (s *Store) Get(ctx context.Context, id nitro.Bytes32) (core.Channel, error) {
	if err := ended(ctx); err != nil {
		return core.Channel{}, err
	}
	s.mu.RLock()
	data, ok := s.channels[id]
	s.mu.RUnlock()
	if !ok {
		return core.Channel{}, ports.ErrNotFound
	}
	return decodeChannel(data) // a stored encoding is never changed in place
}

// Missing returns those of ids the store does not hold, in order
// (ports.ChannelFinder).
func (s *Store) Missing(ctx context.Context, ids []nitro.Bytes32) ([]nitro.Bytes32, error) {
	if err := ended(ctx); err != nil {
		return nil, err
	}
	var out []nitro.Bytes32
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, id := range ids {
		if _, ok := s.channels[id]; !ok {
			out = append(out, id)
		}
	}
	return out, nil
}

// List returns copies of every channel, ordered by id.
func (s *Store) List(ctx context.Context) ([]core.Channel, error) {
	if err := ended(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	out := make([]core.Channel, 0, len(s.channels))
	datas := make([][]byte, 0, len(s.channels))
	for _, data := range s.channels {
		datas = append(datas, data)
	}
	s.mu.RUnlock()
	for _, data := range datas {
		c, err := decodeChannel(data)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b core.Channel) int { return strings.Compare(a.ID.Hex(), b.ID.Hex()) })
	return out, nil
}

// scratchPool holds Commit's encoding buffers.
var scratchPool = sync.Pool{New: func() any { return new([]byte) }}

// Commit saves the channels and appends their effects in one step.
func (s *Store) Commit(ctx context.Context, changes []ports.Change) ([]ports.OutboxEntry, error) {
	if err := ended(ctx); err != nil {
		return nil, err
	}
	// The encodings and copies are made before the lock is taken: every
	// call of every channel waits for it, and a copy allocates (and may be
	// made to help the garbage collector), so under the lock it would hold
	// them all up; concurrent commits encode in parallel.
	buf := scratchPool.Get().(*[]byte)
	var one [1][]byte // the usual commit, without an allocation
	encoded, n := one[:0], 0
	for i := range changes {
		*buf = storecodec.AppendChannel((*buf)[:0], &changes[i].Channel)
		encoded = append(encoded, slices.Clone(*buf))
		n += len(changes[i].Effects)
	}
	scratchPool.Put(buf)
	var entries, kept []ports.OutboxEntry
	if n > 0 {
		entries, kept = make([]ports.OutboxEntry, 0, n), make([]ports.OutboxEntry, 0, n)
	}
	var done []uint64
	for _, ch := range changes {
		for _, e := range ch.Effects {
			entries = append(entries, ports.OutboxEntry{ChannelID: ch.Channel.ID, Effect: e})
			kept = append(kept, ports.OutboxEntry{ChannelID: ch.Channel.ID, Effect: cloneEffect(e)})
		}
		done = append(done, ch.Done...)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range changes {
		s.channels[changes[i].Channel.ID] = encoded[i]
	}
	s.dropLocked(done)
	for i := range entries {
		entries[i].ID, kept[i].ID = s.nextID, s.nextID
		s.nextID++
	}
	s.outbox = append(s.outbox, kept...)
	return entries, nil
}

// Pending returns copies of the outbox entries not yet done.
func (s *Store) Pending(ctx context.Context) ([]ports.OutboxEntry, error) {
	if err := ended(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	out := make([]ports.OutboxEntry, len(s.outbox))
	copy(out, s.outbox)
	s.mu.RUnlock()
	for i := range out {
		out[i].Effect = cloneEffect(out[i].Effect) // a stored effect is never changed in place
	}
	return out, nil
}

// Done removes outbox entries.
func (s *Store) Done(ctx context.Context, ids []uint64) error {
	if err := ended(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropLocked(ids)
	return nil
}

// dropLocked removes the outbox entries ids (unknown ones are ignored).
func (s *Store) dropLocked(ids []uint64) {
	if len(ids) > 0 {
		s.outbox = slices.DeleteFunc(s.outbox, func(e ports.OutboxEntry) bool { return slices.Contains(ids, e.ID) })
	}
}

// NextNonce returns 1, 2, 3, ... per participant list.
func (s *Store) NextNonce(ctx context.Context, participants []nitro.Address) (uint64, error) {
	if err := ended(ctx); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var k strings.Builder
	for _, p := range participants {
		k.WriteString(p.Hex())
	}
	s.nonces[k.String()]++
	return s.nonces[k.String()], nil
}

// NextNonces reserves n consecutive nonces for a participant list and
// returns the last (ports.NonceRanger).
func (s *Store) NextNonces(ctx context.Context, participants []nitro.Address, n int) (uint64, error) {
	if err := ended(ctx); err != nil {
		return 0, err
	}
	if n < 1 {
		return 0, fmt.Errorf("memory: NextNonces of %d", n)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var k strings.Builder
	for _, p := range participants {
		k.WriteString(p.Hex())
	}
	s.nonces[k.String()] += uint64(n)
	return s.nonces[k.String()], nil
}

// ChainCursor returns where to read chain events from.
func (s *Store) ChainCursor(ctx context.Context) (ports.Cursor, error) {
	if err := ended(ctx); err != nil {
		return ports.Cursor{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	c := s.cursor
	c.Recent = slices.Clone(c.Recent)
	return c, nil
}

// SetChainCursor records the cursor unless it is ordered before the stored
// one (ports.Cursor.Before).
func (s *Store) SetChainCursor(ctx context.Context, c ports.Cursor) error {
	if err := ended(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !c.Before(s.cursor) {
		c.Recent = slices.Clone(c.Recent)
		s.cursor = c
	}
	return nil
}

// cloneEffect deep-copies an effect so the store and its callers never share
// big.Ints or slices.
func cloneEffect(e core.Effect) core.Effect {
	switch e := e.(type) {
	case core.SignState:
		e.State = e.State.Clone()
		return e
	case core.Send:
		p := &e.Message.Payload
		p.SignedStates = cloneSignedStates(p.SignedStates)
		if p.Objectives != nil {
			objs := make([]core.Objective, len(p.Objectives))
			for i, o := range p.Objectives {
				o.Participants = slices.Clone(o.Participants)
				objs[i] = o
			}
			p.Objectives = objs
		}
		p.Requests = slices.Clone(p.Requests)
		return e
	case core.Deposit:
		e.ExpectedHeld = cloneInt(e.ExpectedHeld)
		e.Amount = cloneInt(e.Amount)
		return e
	case core.Conclude:
		e.State = e.State.Clone()
		e.Signatures = slices.Clone(e.Signatures)
		return e
	case core.Watch:
		e.Assets = slices.Clone(e.Assets)
		return e
	}
	return e
}

func cloneSignedStates(ss []core.SignedState) []core.SignedState {
	if ss == nil {
		return nil
	}
	out := make([]core.SignedState, len(ss))
	for i, s := range ss {
		out[i] = core.SignedState{State: s.State.Clone(), Participants: slices.Clone(s.Participants), Signatures: slices.Clone(s.Signatures)}
	}
	return out
}

// decodeChannel decodes a held channel: a copy that shares nothing with
// the store. It fails only on a bug in the codec.
func decodeChannel(data []byte) (core.Channel, error) {
	c, err := storecodec.DecodeChannel(data)
	if err != nil {
		return core.Channel{}, fmt.Errorf("memory store: %w", err)
	}
	return c, nil
}

func cloneInt(x *big.Int) *big.Int {
	if x == nil {
		return nil
	}
	return new(big.Int).Set(x)
}

// DeleteProposal removes a channel never joined (status proposed) with
// its outbox entries; it refuses, with ports.ErrNotProposal, a channel the
// wallet created or joined.
func (s *Store) DeleteProposal(ctx context.Context, id nitro.Bytes32) error {
	if err := ended(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.channels[id]
	if !ok {
		return ports.ErrNotFound
	}
	c, err := decodeChannel(data)
	if err != nil {
		return err
	}
	if c.Joined || c.Status() != core.StatusProposed {
		return fmt.Errorf("%w: %s", ports.ErrNotProposal, id)
	}
	delete(s.channels, id)
	s.outbox = slices.DeleteFunc(s.outbox, func(e ports.OutboxEntry) bool { return e.ChannelID == id })
	return nil
}
