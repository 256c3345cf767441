package memory

import (
	"context"
	"crypto/ecdsa"
	"fmt"

	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Signer signs with a private key held in memory.
type Signer struct {
	key  *ecdsa.PrivateKey
	addr nitro.Address
}

// NewSigner wraps a private key.
func NewSigner(key *ecdsa.PrivateKey) *Signer {
	return &Signer{key: key, addr: crypto.PubkeyToAddress(key.PublicKey)}
}

// SignerFromSeed derives a deterministic key from a seed string (keccak256 of
// it): for tests and demos only.
func SignerFromSeed(seed string) *Signer {
	key, err := crypto.ToECDSA(crypto.Keccak256([]byte(seed)))
	if err != nil {
		panic(err) // a keccak output is a valid key except with negligible probability
	}
	return NewSigner(key)
}

// Address returns the signing address.
func (s *Signer) Address() nitro.Address { return s.addr }

// SignState signs the eth_sign digest of a state hash.
func (s *Signer) SignState(_ context.Context, h nitro.Bytes32) (nitro.Signature, error) {
	raw, err := crypto.Sign(nitro.SignatureDigest(h), s.key)
	if err != nil {
		return nitro.Signature{}, fmt.Errorf("memory signer: %w", err)
	}
	raw[64] += 27
	return nitro.SignatureFromBytes(raw)
}
