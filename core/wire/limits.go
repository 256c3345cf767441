package wire

import "github.com/nitrowallet/nitrowallet/core/nitro"

// Limits bounds what the decoder accepts, so that hostile input is rejected
// with ErrTooLarge before expensive work. A zero or negative size field takes
// its DefaultLimits value, so Limits{} behaves like DefaultLimits().
type Limits struct {
	// MaxMessageBytes bounds the raw input length, checked first.
	MaxMessageBytes int
	// MaxStates bounds data.signedStates.
	MaxStates int
	// MaxParticipants bounds the participants of a signed state or objective.
	MaxParticipants int
	// MaxAppDataBytes bounds a state's decoded appData.
	MaxAppDataBytes int
	// MaxAssets bounds the asset outcomes (allocations or guarantees) of an
	// outcome.
	MaxAssets int
	// MaxAllocationItems bounds the items of an allocation and the
	// destinations of a guarantee.
	MaxAllocationItems int
	// MaxSignatures bounds the signatures of a signed state.
	MaxSignatures int
	// MaxObjectives bounds data.objectives.
	MaxObjectives int
	// MaxRequests bounds data.requests.
	MaxRequests int
	// FormatOnly limits decoding to the wire format itself and skips the
	// two checks that need meaning: that each signed state's claimed
	// channelId equals the id computed from its fixed part, and that each
	// signature's v byte is 27 or 28 (0 and 1 are normalised to them). With
	// FormatOnly any v byte is kept as is. Leave it false for peer messages;
	// set it only to check the format alone (the wire-format package's own
	// good sample has a made-up channelId and a signature with v = 0x28).
	FormatOnly bool
}

// DefaultLimits returns generous bounds for peer messages: 4 MiB per message,
// 1024 states, 255 participants (the Nitro maximum), 64 KiB of appData, 16
// assets, 255 allocation items, 255 signatures, 1024 objectives and 1024
// requests, with channel ids checked.
func DefaultLimits() Limits {
	return Limits{
		MaxMessageBytes:    4 << 20,
		MaxStates:          1024,
		MaxParticipants:    nitro.MaxParticipants,
		MaxAppDataBytes:    64 << 10,
		MaxAssets:          16,
		MaxAllocationItems: 255,
		MaxSignatures:      255,
		MaxObjectives:      1024,
		MaxRequests:        1024,
	}
}

// normalized replaces non-positive size fields with their defaults.
func (l Limits) normalized() Limits {
	d := DefaultLimits()
	fix := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	fix(&l.MaxMessageBytes, d.MaxMessageBytes)
	fix(&l.MaxStates, d.MaxStates)
	fix(&l.MaxParticipants, d.MaxParticipants)
	fix(&l.MaxAppDataBytes, d.MaxAppDataBytes)
	fix(&l.MaxAssets, d.MaxAssets)
	fix(&l.MaxAllocationItems, d.MaxAllocationItems)
	fix(&l.MaxSignatures, d.MaxSignatures)
	fix(&l.MaxObjectives, d.MaxObjectives)
	fix(&l.MaxRequests, d.MaxRequests)
	return l
}
