package memory

import (
	"crypto/ecdsa"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/keys"
)

// Signer signs with a private key held in memory (the keys adapter's signer).
type Signer = keys.Signer

// NewSigner wraps a private key.
func NewSigner(key *ecdsa.PrivateKey) *Signer { return keys.NewSigner(key) }

// SignerFromSeed derives a deterministic key from a seed string (keccak256 of
// it): for tests and demos only.
func SignerFromSeed(seed string) *Signer {
	key, err := crypto.ToECDSA(crypto.Keccak256([]byte(seed)))
	if err != nil {
		panic(err) // a keccak output is a valid key except with negligible probability
	}
	return NewSigner(key)
}
