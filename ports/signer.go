package ports

import (
	"context"
	"time"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Signer signs state hashes with the wallet's key; the key never leaves it.
type Signer interface {
	// Address is the signing address participants know this wallet by.
	Address() nitro.Address
	// SignState returns the eth_sign signature (v = 27/28) of a state hash.
	// It is deterministic (RFC 6979): the same hash always gives the same
	// signature.
	SignState(ctx context.Context, stateHash nitro.Bytes32) (nitro.Signature, error)
}

// Clock tells the time; the app turns it into Tick inputs.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }
