package keys

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Errors returned when a key cannot be loaded; test with errors.Is.
var (
	// ErrNoKey: the environment variable is unset or empty, or the file is missing.
	ErrNoKey = errors.New("keys: no key")
	// ErrMalformedKey: the text is not a secp256k1 private key or a keystore file.
	ErrMalformedKey = errors.New("keys: malformed key")
	// ErrWrongPassphrase: the keystore file does not open with the passphrase.
	ErrWrongPassphrase = errors.New("keys: wrong passphrase")
)

// maxKeystoreSize bounds what LoadKeystore reads: a v3 file is under 1 KB.
const maxKeystoreSize = 64 << 10

// Signer signs state hashes with a private key held in memory.
type Signer struct {
	key  *ecdsa.PrivateKey
	addr nitro.Address
}

var _ ports.Signer = (*Signer)(nil)

// NewSigner wraps a private key.
func NewSigner(key *ecdsa.PrivateKey) *Signer {
	return &Signer{key: key, addr: crypto.PubkeyToAddress(key.PublicKey)}
}

// Address returns the signing address.
func (s *Signer) Address() nitro.Address { return s.addr }

// SignState signs the eth_sign digest of a state hash (v = 27/28). Signing
// is deterministic (RFC 6979).
func (s *Signer) SignState(_ context.Context, h nitro.Bytes32) (nitro.Signature, error) {
	raw, err := crypto.Sign(nitro.SignatureDigest(h), s.key)
	if err != nil {
		return nitro.Signature{}, fmt.Errorf("keys: sign: %w", err)
	}
	raw[64] += 27
	return nitro.SignatureFromBytes(raw)
}

// ParseHex parses a hex private key (64 digits, with or without 0x).
func ParseHex(s string) (*ecdsa.PrivateKey, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	if len(s) != 64 {
		return nil, fmt.Errorf("%w: want 64 hex digits, got %d characters", ErrMalformedKey, len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: not hex", ErrMalformedKey)
	}
	key, err := crypto.ToECDSA(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedKey, err)
	}
	return key, nil
}

// FromEnv reads a hex private key from the environment variable name.
// Error messages never contain the variable's value.
func FromEnv(name string) (*ecdsa.PrivateKey, error) {
	v, ok := os.LookupEnv(name)
	if !ok || strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("%w: environment variable %s is not set", ErrNoKey, name)
	}
	key, err := ParseHex(v)
	if err != nil {
		return nil, fmt.Errorf("environment variable %s: %w", name, err)
	}
	return key, nil
}

// LoadKeystore decrypts an Ethereum keystore file (version 3) with its
// passphrase.
func LoadKeystore(path, passphrase string) (*ecdsa.PrivateKey, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %w", ErrNoKey, err)
	}
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxKeystoreSize+1))
	if err != nil {
		return nil, fmt.Errorf("keys: read %s: %w", path, err)
	}
	if len(data) > maxKeystoreSize {
		return nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrMalformedKey, path, maxKeystoreSize)
	}
	k, err := keystore.DecryptKey(data, passphrase)
	switch {
	case errors.Is(err, keystore.ErrDecrypt):
		return nil, fmt.Errorf("%w: %s", ErrWrongPassphrase, path)
	case err != nil:
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformedKey, path, err)
	}
	return k.PrivateKey, nil
}
