package main

import (
	"context"
	"fmt"
	neturl "net/url"
	"strings"

	"github.com/nitrowallet/nitrowallet/adapters/postgres"
	"github.com/nitrowallet/nitrowallet/ports"
)

func isPostgresURL(u string) bool {
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// openPostgresStore opens a demo wallet's store in the schema
// <base>_<wallet>, where base is the URL's search_path parameter or
// "nitrowallet_demo". The demo's chain is new on every run, so the schema is
// emptied first (under the store's lock): an earlier run's channels and
// chain cursor belong to a chain that is gone.
func openPostgresStore(ctx context.Context, url, wallet string) (ports.Store, func(), error) {
	u, err := neturl.Parse(url)
	if err != nil {
		return nil, nil, fmt.Errorf("store URL: %w", err)
	}
	q := u.Query()
	base := q.Get("search_path")
	if base == "" {
		base = "nitrowallet_demo"
	}
	q.Del("search_path")
	u.RawQuery = q.Encode()
	schema := strings.ToLower(base + "_" + wallet)
	s, err := postgres.Open(ctx, u.String(), postgres.Options{Schema: schema, Reset: true})
	if err != nil {
		return nil, nil, err
	}
	return s, func() { _ = s.Close() }, nil
}
