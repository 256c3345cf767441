package main

import (
	"context"
	"errors"
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
	u, base, err := splitSearchPath(url, "nitrowallet_demo")
	if err != nil {
		return nil, nil, err
	}
	schema := strings.ToLower(base + "_" + wallet)
	s, err := postgres.Open(ctx, u, postgres.Options{Schema: schema, Reset: true})
	if err != nil {
		return nil, nil, err
	}
	return s, func() { _ = s.Close() }, nil
}

// splitSearchPath takes the search_path parameter out of a PostgreSQL URL:
// it returns the URL without it and the schema it names (def if none).
func splitSearchPath(url, def string) (string, string, error) {
	u, err := neturl.Parse(url)
	if err != nil {
		// Not err itself: a *url.Error quotes the URL, password included.
		return "", "", fmt.Errorf("store URL: %w", errors.Unwrap(err))
	}
	q := u.Query()
	schema := q.Get("search_path")
	if schema == "" {
		schema = def
	}
	q.Del("search_path")
	u.RawQuery = q.Encode()
	return u.String(), schema, nil
}
