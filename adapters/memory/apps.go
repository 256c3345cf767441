package memory

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// RegisterApp keeps a copy of code as the app at addr (see
// ports.Store.RegisterApp).
func (s *Store) RegisterApp(ctx context.Context, addr nitro.Address, code []byte) error {
	if err := ended(ctx); err != nil {
		return err
	}
	if err := ports.CheckAppCode(code); err != nil {
		return fmt.Errorf("memory store: app %s: %w", addr, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if have, ok := s.apps[addr]; ok {
		if !bytes.Equal(have, code) {
			return fmt.Errorf("memory store: app %s: %w", addr, ports.ErrAppCodeConflict)
		}
		return nil
	}
	if s.apps == nil {
		s.apps = map[nitro.Address][]byte{}
	}
	s.apps[addr] = bytes.Clone(code)
	return nil
}

// Apps returns copies of every registered app, ordered by address.
func (s *Store) Apps(ctx context.Context) ([]ports.App, error) {
	if err := ended(ctx); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]ports.App, 0, len(s.apps))
	for a, code := range s.apps {
		out = append(out, ports.App{Address: a, Code: bytes.Clone(code)})
	}
	slices.SortFunc(out, func(a, b ports.App) int { return bytes.Compare(a.Address[:], b.Address[:]) })
	return out, nil
}
