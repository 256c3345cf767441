//go:build !race

package apprules

// raceEnabled: see race_test.go.
const raceEnabled = false
