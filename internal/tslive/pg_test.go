package tslive_test

import (
	"net/url"
	"os"
	"strconv"
	"testing"

	"github.com/nitrowallet/nitrowallet/internal/tslive"
)

// pgConfig is where the TS wallets make their databases: the server of
// NITROWALLET_TEST_DATABASE_URL (scripts/with-postgres.sh sets it), else
// 127.0.0.1:5432 as user postgres.
func pgConfig(t testing.TB) tslive.Config {
	t.Helper()
	s := os.Getenv("NITROWALLET_TEST_DATABASE_URL")
	if s == "" {
		return tslive.Config{}
	}
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("NITROWALLET_TEST_DATABASE_URL: %v", err)
	}
	cfg := tslive.Config{Host: u.Hostname(), User: u.User.Username()}
	cfg.Password, _ = u.User.Password()
	if p := u.Port(); p != "" {
		if cfg.Port, err = strconv.Atoi(p); err != nil {
			t.Fatalf("NITROWALLET_TEST_DATABASE_URL port: %v", err)
		}
	}
	return cfg
}
