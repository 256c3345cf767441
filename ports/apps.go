package ports

import (
	"errors"
	"fmt"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// MaxAppCodeSize bounds the code of a registered app: EIP-170's limit on
// deployed contract code (24,576 bytes), so no app a chain could hold is
// refused and nothing larger is kept.
const MaxAppCodeSize = 24_576

// Errors of Store.RegisterApp; nothing is stored when it returns one.
var (
	// ErrInvalidAppCode: the code is empty or longer than MaxAppCodeSize.
	ErrInvalidAppCode = errors.New("store: app code empty or over 24,576 bytes")
	// ErrAppCodeConflict: the address is registered with different code.
	// Registered apps are immutable: a channel may already rely on the
	// verdicts of the code first registered.
	ErrAppCodeConflict = errors.New("store: app already registered with different code")
)

// App is a registered app: the runtime code judged as the app at Address.
type App struct {
	Address nitro.Address
	Code    []byte
}

// CheckAppCode returns ErrInvalidAppCode unless code has 1 to
// MaxAppCodeSize bytes.
func CheckAppCode(code []byte) error {
	if len(code) == 0 || len(code) > MaxAppCodeSize {
		return fmt.Errorf("%w: %d bytes", ErrInvalidAppCode, len(code))
	}
	return nil
}
