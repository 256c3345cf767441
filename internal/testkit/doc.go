// Package testkit holds helpers that the tests of several packages share, so
// that one preamble is written once: running workers in parallel, and the
// calls and checks of tests that drive app.Wallets. It is for tests only.
package testkit
