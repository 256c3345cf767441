package wire

import (
	"errors"
	"fmt"
)

// ErrInvalidMessage is the parent of every error this package returns:
// errors.Is(err, ErrInvalidMessage) holds for all of them, so a caller can
// test one thing and still ask for the specific sentinel when it cares.
var ErrInvalidMessage = errors.New("wire: invalid message")

// wireError is a sentinel that also matches ErrInvalidMessage.
type wireError struct{ msg string }

// Error returns the sentinel's message.
func (e *wireError) Error() string { return e.msg }

// Is makes every sentinel match its parent ErrInvalidMessage.
func (e *wireError) Is(target error) bool { return target == ErrInvalidMessage }

// Sentinel errors. Every error returned by DecodeMessage, DecodePayload and
// EncodeMessage wraps exactly one or two of them with %w and names the field
// path (for example data.signedStates[0].turnNum).
var (
	// ErrMalformed reports bad JSON syntax, a string that is not valid
	// UTF-8 (JSON text is UTF-8), truncated input, trailing data, duplicate
	// object keys, a value of the wrong JSON type, or an outcome that mixes
	// allocations and guarantees.
	ErrMalformed error = &wireError{"wire: malformed message"}
	// ErrUnknownField reports a field the schema does not allow
	// (additionalProperties is false on every object).
	ErrUnknownField error = &wireError{"wire: unknown field"}
	// ErrMissingField reports an absent required field.
	ErrMissingField error = &wireError{"wire: missing required field"}
	// ErrBadHex reports a string that does not match its hex pattern: missing
	// 0x prefix, non-hex digit, odd length or wrong length.
	ErrBadHex error = &wireError{"wire: bad hex string"}
	// ErrOutOfRange reports a number outside its type's range: a uint48 that
	// is negative, fractional or above 2^48-1, an amount or chainId above
	// 2^256-1, or a signature whose v is not 27/28 (0/1).
	ErrOutOfRange error = &wireError{"wire: value out of range"}
	// ErrTooLarge reports input beyond a Limits bound.
	ErrTooLarge error = &wireError{"wire: message too large"}
	// ErrChannelIDMismatch reports a signed state whose claimed channelId is
	// not the id of its fixed part (or whose id cannot be computed).
	ErrChannelIDMismatch error = &wireError{"wire: channel id mismatch"}
	// ErrUnsupported reports a value outside a schema enum: an unknown
	// objective or request type, funding strategy or role.
	ErrUnsupported error = &wireError{"wire: unsupported value"}
)

// errAt wraps sentinel with the field path and a detail message.
func errAt(sentinel error, path, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", sentinel, path, fmt.Sprintf(format, args...))
}
