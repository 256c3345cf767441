package postgres

import (
	"context"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/ports"
)

var _ ports.Counter = (*Store)(nil)

// Counts counts the channels by status (the indexed status column, written
// with each commit) and the outbox entries not yet done, in two aggregate
// queries that decode no channel: what a metrics scrape reads.
func (s *Store) Counts(ctx context.Context) (ports.Counts, error) {
	if err := s.settle(ctx, nil); err != nil {
		return ports.Counts{}, err
	}
	var rows []struct {
		Status string `db:"status"`
		N      int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &rows, "SELECT status, count(*) AS n FROM channels GROUP BY status"); err != nil {
		return ports.Counts{}, callError(ctx, "count channels", err)
	}
	c := ports.Counts{Channels: make(map[core.Status]int, len(rows))}
	for _, r := range rows {
		c.Channels[core.Status(r.Status)] = r.N
	}
	if err := s.db.GetContext(ctx, &c.PendingEffects, "SELECT count(*) FROM outbox"); err != nil {
		return ports.Counts{}, callError(ctx, "count outbox", err)
	}
	return c, nil
}
