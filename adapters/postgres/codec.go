package postgres

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// channelFormat is the version of the JSON in channels.data: encoding/json
// of core.Channel. A change to core.Channel's fields needs a new format (and
// a migration that rewrites old rows); decoding refuses unknown fields so a
// newer row is never silently truncated by an older binary.
const channelFormat = 1

func encodeChannel(c core.Channel) ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("postgres store: encode channel %s: %w", c.ID, err)
	}
	return b, nil
}

func decodeChannel(format int, data []byte) (core.Channel, error) {
	var c core.Channel
	if format != channelFormat {
		return c, fmt.Errorf("postgres store: channel format %d, this binary reads %d", format, channelFormat)
	}
	if err := strictUnmarshal(data, &c); err != nil {
		return c, fmt.Errorf("postgres store: decode channel: %w", err)
	}
	return c, nil
}

func strictUnmarshal(data []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("trailing data after JSON value")
	}
	return nil
}

// Effect kinds as stored in outbox.kind.
const (
	kindSignState = "SignState"
	kindSend      = "Send"
	kindDeposit   = "Deposit"
	kindConclude  = "Conclude"
	kindWatch     = "Watch"
)

// encodeEffect returns an effect's type tag and JSON. Only the core's
// concrete effect types (as values) are accepted.
func encodeEffect(e core.Effect) (string, []byte, error) {
	var kind string
	switch e.(type) {
	case core.SignState:
		kind = kindSignState
	case core.Send:
		kind = kindSend
	case core.Deposit:
		kind = kindDeposit
	case core.Conclude:
		kind = kindConclude
	case core.Watch:
		kind = kindWatch
	default:
		return "", nil, fmt.Errorf("postgres store: cannot store effect of type %T", e)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return "", nil, fmt.Errorf("postgres store: encode %s effect: %w", kind, err)
	}
	return kind, b, nil
}

// decodeEffect turns a stored effect back into its exact concrete type.
func decodeEffect(kind string, data []byte) (core.Effect, error) {
	var (
		e   core.Effect
		err error
	)
	switch kind {
	case kindSignState:
		var v core.SignState
		err = strictUnmarshal(data, &v)
		e = v
	case kindSend:
		var v core.Send
		err = strictUnmarshal(data, &v)
		e = v
	case kindDeposit:
		var v core.Deposit
		err = strictUnmarshal(data, &v)
		e = v
	case kindConclude:
		var v core.Conclude
		err = strictUnmarshal(data, &v)
		e = v
	case kindWatch:
		var v core.Watch
		err = strictUnmarshal(data, &v)
		e = v
	default:
		return nil, fmt.Errorf("postgres store: unknown effect kind %q", kind)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres store: decode %s effect: %w", kind, err)
	}
	return e, nil
}

// stateKey and sigKey identify rows of the states and signatures tables.
type stateKey struct {
	turn uint64
	hash nitro.Bytes32
}

type sigKey struct {
	turn   uint64
	hash   nitro.Bytes32
	signer nitro.Address
}

// stateRow and sigRow are rows of the states and signatures tables.
type stateRow struct {
	key     stateKey
	isFinal bool
	state   []byte
}

type sigRow struct {
	key stateKey
	sig sigKey
	raw []byte
}

// channelEvidence lists every signed state a channel holds (its states and
// its held future states) with their signatures by signer.
func channelEvidence(c core.Channel) (map[stateKey]nitro.State, map[sigKey]nitro.Signature) {
	states := map[stateKey]nitro.State{}
	sigs := map[sigKey]nitro.Signature{}
	for _, s := range c.States {
		k := stateKey{s.State.TurnNum, s.Hash}
		signed := false
		for i, sig := range s.Sigs {
			if sig.V == 0 || i >= len(c.Participants) {
				continue
			}
			signed = true
			sigs[sigKey{k.turn, k.hash, c.Participants[i].SigningAddress}] = sig
		}
		if signed {
			states[k] = s.State
		}
	}
	for _, h := range c.Held {
		hash, err := h.State.Hash()
		if err != nil {
			continue
		}
		k := stateKey{h.State.TurnNum, hash}
		for _, sig := range h.Signatures {
			who, err := nitro.RecoverSigner(hash, sig)
			if err != nil || !slices.Contains(h.State.Participants, who) {
				continue
			}
			states[k] = h.State
			sigs[sigKey{k.turn, k.hash, who}] = sig
		}
	}
	return states, sigs
}
