package memory

import (
	"bytes"
	"context"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// SetCode makes code the runtime code Code returns for addr, as if a
// contract were deployed there: for tests registering apps by their
// address. Like Fund it acts outside blocks (at once, whatever the
// confirmation depth, and never rolled back); empty code removes it. The
// Go model's own contracts have no code.
func (c *Chain) SetCode(addr nitro.Address, code []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.apps, addr)
	if len(code) == 0 {
		delete(c.code, addr)
		return
	}
	if c.code == nil {
		c.code = map[nitro.Address][]byte{}
	}
	c.code[addr] = bytes.Clone(code)
}

// Code implements ports.Chain: a copy of the code SetCode put at addr,
// empty elsewhere.
func (a *chainAccount) Code(ctx context.Context, addr nitro.Address) ([]byte, error) {
	c := a.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.gateLocked(ctx); err != nil {
		return nil, err
	}
	return bytes.Clone(c.code[addr]), nil
}
