package wire

import (
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

var maxUint256 = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))

// isHex reports whether s is made only of hex digits.
func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// hexDigits strips the mandatory 0x prefix and checks the digits.
func hexDigits(s, path string) (string, error) {
	if !strings.HasPrefix(s, "0x") {
		return "", errAt(ErrBadHex, path, "missing 0x prefix")
	}
	d := s[2:]
	if !isHex(d) {
		return "", errAt(ErrBadHex, path, "non-hex digit")
	}
	return d, nil
}

// parseFixedInto parses 0x followed by exactly 2*len(dst) hex digits into dst.
func parseFixedInto(dst []byte, s, path string) error {
	// Fast path: the right length of valid digits, decoded in one pass.
	if len(s) == 2+2*len(dst) && s[0] == '0' && s[1] == 'x' {
		ok := true
		for i := range dst {
			hi, lo := hexValue[s[2+2*i]], hexValue[s[3+2*i]]
			if hi|lo == 0xff {
				ok = false
				break
			}
			dst[i] = hi<<4 | lo
		}
		if ok {
			return nil
		}
	}
	d, err := hexDigits(s, path)
	if err != nil {
		return err
	}
	if len(d) != 2*len(dst) {
		return errAt(ErrBadHex, path, "want %d hex digits, got %d", 2*len(dst), len(d))
	}
	for i := range dst {
		dst[i] = unhex(d[2*i])<<4 | unhex(d[2*i+1])
	}
	return nil
}

// hexValue maps a hex digit to its value and anything else to 0xff.
var hexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c-'a') + 10
		t[c-'a'+'A'] = byte(c-'a') + 10
	}
	return t
}()

// unhex is the value of a hex digit already checked by isHex.
func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// parseBytes32 parses a Bytes32 (0x + 64 hex digits).
func parseBytes32(s, path string) (nitro.Bytes32, error) {
	var b nitro.Bytes32
	if err := parseFixedInto(b[:], s, path); err != nil {
		return nitro.Bytes32{}, err
	}
	return b, nil
}

// parseAddress parses an Address (0x + 40 hex digits; the checksum is not
// verified).
func parseAddress(s, path string) (nitro.Address, error) {
	var a nitro.Address
	if err := parseFixedInto(a[:], s, path); err != nil {
		return nitro.Address{}, err
	}
	return a, nil
}

// parseDestination parses a participant destination: a 32-byte value, or a
// 20-byte address that is left-padded.
func parseDestination(s, path string) (nitro.Bytes32, error) {
	d, err := hexDigits(s, path)
	if err != nil {
		return nitro.Bytes32{}, err
	}
	switch len(d) {
	case 40:
		a, err := parseAddress(s, path)
		if err != nil {
			return nitro.Bytes32{}, err
		}
		return nitro.AddressToDestination(a), nil
	case 64:
		return parseBytes32(s, path)
	}
	return nitro.Bytes32{}, errAt(ErrBadHex, path, "want 40 or 64 hex digits, got %d", len(d))
}

// parseUint256 parses a Uint256 (0x + exactly 64 hex digits). Longer valid
// hex whose value exceeds 2^256-1 is reported as both ErrBadHex and
// ErrOutOfRange.
func parseUint256(s, path string) (*big.Int, error) {
	d, err := hexDigits(s, path)
	if err != nil {
		return nil, err
	}
	if len(d) > 64 && len(strings.TrimLeft(d, "0")) > 64 {
		return nil, fmt.Errorf("%w: %w: %s: %d hex digits exceed 2^256-1", ErrBadHex, ErrOutOfRange, path, len(d))
	}
	var b [32]byte
	if err := parseFixedInto(b[:], s, path); err != nil {
		return nil, err
	}
	return new(big.Int).SetBytes(b[:]), nil
}

// parseBytes parses Bytes (0x + an even number of hex digits) of at most max
// bytes; the length is checked before decoding.
func parseBytes(s string, max int, path string) ([]byte, error) {
	if !strings.HasPrefix(s, "0x") {
		return nil, errAt(ErrBadHex, path, "missing 0x prefix")
	}
	d := s[2:]
	if len(d)/2 > max {
		return nil, errAt(ErrTooLarge, path, "%d bytes exceed the limit of %d", len(d)/2, max)
	}
	if !isHex(d) {
		return nil, errAt(ErrBadHex, path, "non-hex digit")
	}
	if len(d)%2 != 0 {
		return nil, errAt(ErrBadHex, path, "odd number of hex digits")
	}
	if len(d) == 0 {
		return nil, nil
	}
	b, err := hex.DecodeString(d)
	if err != nil {
		return nil, errAt(ErrBadHex, path, "%v", err)
	}
	return b, nil
}

// parseChainID parses a chainId: 0x hex (any number of digits) or decimal.
func parseChainID(s, path string) (*big.Int, error) {
	base, d := 10, s
	if strings.HasPrefix(s, "0x") {
		base, d = 16, s[2:]
		if d == "" || !isHex(d) {
			return nil, errAt(ErrBadHex, path, "not a hex number: %q", truncate(s))
		}
	} else {
		neg := strings.HasPrefix(d, "-")
		if neg {
			d = d[1:]
		}
		if d == "" || strings.TrimLeft(d, "0123456789") != "" {
			return nil, errAt(ErrBadHex, path, "not a hex or decimal number: %q", truncate(s))
		}
		if neg && strings.TrimLeft(d, "0") != "" {
			return nil, errAt(ErrOutOfRange, path, "negative chain id")
		}
	}
	d = strings.TrimLeft(d, "0")
	if base == 16 && len(d) > 64 || base == 10 && len(d) > 78 {
		return nil, errAt(ErrOutOfRange, path, "chain id exceeds 2^256-1")
	}
	x, ok := new(big.Int).SetString("0"+d, base)
	if !ok { // unreachable after the checks above
		return nil, errAt(ErrBadHex, path, "not a number")
	}
	if x.Cmp(maxUint256) > 0 {
		return nil, errAt(ErrOutOfRange, path, "chain id exceeds 2^256-1")
	}
	return x, nil
}

// parseUint48 interprets a JSON number literal the way JavaScript does (as a
// float64) and requires a non-negative integer no larger than 2^48-1, all of
// which float64 represents exactly.
func parseUint48(n, path string) (uint64, error) {
	if strings.TrimLeft(n, "0123456789") == "" && len(n) <= 15 {
		v, err := strconv.ParseUint(n, 10, 64)
		if err == nil && v <= nitro.MaxUint48 {
			return v, nil
		}
	}
	f, err := strconv.ParseFloat(n, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, errAt(ErrOutOfRange, path, "%s is not a uint48", truncate(n))
	}
	if f < 0 || f != math.Trunc(f) || f > nitro.MaxUint48 {
		return 0, errAt(ErrOutOfRange, path, "%s is not a uint48", truncate(n))
	}
	return uint64(f), nil
}

// truncate shortens s for error messages.
func truncate(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// Formatting.

func fmtBytes32(b nitro.Bytes32) string { return "0x" + hex.EncodeToString(b[:]) }

func fmtAddress(a nitro.Address) string { return a.Hex() }

// fmtDestination formats a destination as 32 bytes, with the address part
// EIP-55 checksummed when it is an external address.
func fmtDestination(d nitro.Bytes32) string {
	if nitro.IsExternalDestination(d) {
		return "0x000000000000000000000000" + nitro.DestinationToAddress(d).Hex()[2:]
	}
	return fmtBytes32(d)
}

func fmtUint256(x *big.Int) string {
	var b [32]byte
	x.FillBytes(b[:])
	return "0x" + hex.EncodeToString(b[:])
}

// fmtChainID formats like ethers' BigNumber.toHexString: 0x followed by an
// even number of hex digits ("0x00" for zero).
func fmtChainID(x *big.Int) string {
	h := x.Text(16)
	if len(h)%2 == 1 {
		h = "0" + h
	}
	return "0x" + h
}
