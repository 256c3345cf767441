//go:build race

package apprules

// raceEnabled: the race detector is on, and sync.Pool drops a share of
// what it is given at random, so allocation counts say nothing.
const raceEnabled = true
