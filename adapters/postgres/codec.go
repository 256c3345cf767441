package postgres

// The store's encoding of channels, states and effects is
// adapters/internal/storecodec (shared with the memory store); these names
// keep the store's and its tests' call sites short. codec_test.go and
// golden_test.go test the encoding through them.

import (
	"github.com/nitrowallet/nitrowallet/adapters/internal/storecodec"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// errCorrupt is wrapped by every decoding error.
var errCorrupt = storecodec.ErrCorrupt

// Effect kinds as stored in outbox.kind.
const (
	kindSignState = storecodec.KindSignState
	kindSend      = storecodec.KindSend
	kindDeposit   = storecodec.KindDeposit
	kindConclude  = storecodec.KindConclude
	kindWatch     = storecodec.KindWatch
)

func appendChannel(b []byte, c *core.Channel) []byte { return storecodec.AppendChannel(b, c) }

func decodeChannel(data []byte) (core.Channel, error) { return storecodec.DecodeChannel(data) }

func appendState(b []byte, s *nitro.State) []byte { return storecodec.AppendState(b, s) }

func decodeState(data []byte) (nitro.State, error) { return storecodec.DecodeState(data) }

func appendEffect(b []byte, e core.Effect) (string, []byte, error) {
	return storecodec.AppendEffect(b, e)
}

func decodeEffect(kind string, data []byte) (core.Effect, error) {
	return storecodec.DecodeEffect(kind, data)
}
