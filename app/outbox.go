package app

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/core/wire"
)

// outbox merges the messages of one call into one per recipient and
// sender, in the order of their first message, deduplicated as the server
// wallet's mergeOutgoing does: a state of the same channel and turn is
// carried once (with the union of the signatures its copies carry, when
// the states are equal), and an objective or a request equal to one
// already carried is dropped. A call has few recipients; a batch call's
// message carries up to a few states per channel.
type outbox struct {
	version string
	msgs    []outMessage
}

// outMessage is one recipient's merged message.
type outMessage struct {
	core.Message
	keys  []stateKey // parallel to Payload.SignedStates
	owned bool       // the lists are this message's own (copied on first change)
}

// stateKey names a signed state in a message: its channel and turn.
type stateKey struct {
	channel nitro.Bytes32
	turn    uint64
}

// add merges m, whose states are all of channel id (as a Send effect's
// are), into the outbox.
func (o *outbox) add(id nitro.Bytes32, m core.Message) {
	for i := range o.msgs {
		cur := &o.msgs[i]
		if cur.Sender == m.Sender && cur.Recipient == m.Recipient {
			cur.merge(id, m.Payload)
			return
		}
	}
	m.Payload.WalletVersion = o.version
	// The lists may be shared with the effect (and, for a broadcast, with
	// other recipients' messages): merging must copy them (see own).
	m.Payload.SignedStates = slices.Clip(m.Payload.SignedStates)
	m.Payload.Objectives = slices.Clip(m.Payload.Objectives)
	m.Payload.Requests = slices.Clip(m.Payload.Requests)
	om := outMessage{Message: m, keys: make([]stateKey, len(m.Payload.SignedStates))}
	for i, s := range m.Payload.SignedStates {
		om.keys[i] = stateKey{id, s.State.TurnNum}
	}
	if len(m.Payload.SignedStates) > 1 || len(m.Payload.Objectives) > 1 || len(m.Payload.Requests) > 1 {
		// One effect's own lists may repeat themselves too.
		p := m.Payload
		om.Payload.SignedStates, om.Payload.Objectives, om.Payload.Requests, om.keys = nil, nil, nil, nil
		om.owned = true
		om.merge(id, p)
	}
	o.msgs = append(o.msgs, om)
}

// own copies the message's lists before one of their elements changes.
func (m *outMessage) own() {
	if !m.owned {
		m.Payload.SignedStates = slices.Clone(m.Payload.SignedStates)
		m.owned = true
	}
}

func (m *outMessage) merge(id nitro.Bytes32, p core.Payload) {
	for _, s := range p.SignedStates {
		k := stateKey{id, s.State.TurnNum}
		j := slices.IndexFunc(m.keys, func(x stateKey) bool { return x == k })
		if j < 0 || !reflect.DeepEqual(m.Payload.SignedStates[j].State, s.State) {
			// New, or a different state for the same turn (never ours to
			// hide): carried as is.
			m.Payload.SignedStates = append(m.Payload.SignedStates, s)
			m.keys = append(m.keys, k)
			continue
		}
		have := m.Payload.SignedStates[j].Signatures
		var extra []nitro.Signature
		for _, sig := range s.Signatures {
			if !slices.Contains(have, sig) && !slices.Contains(extra, sig) {
				extra = append(extra, sig)
			}
		}
		if len(extra) > 0 {
			m.own()
			m.Payload.SignedStates[j].Signatures = append(slices.Clip(have), extra...)
		}
	}
	for _, ob := range p.Objectives {
		if !slices.ContainsFunc(m.Payload.Objectives, func(x core.Objective) bool { return reflect.DeepEqual(x, ob) }) {
			m.Payload.Objectives = append(m.Payload.Objectives, ob)
		}
	}
	for _, q := range p.Requests {
		if !slices.Contains(m.Payload.Requests, q) {
			m.Payload.Requests = append(m.Payload.Requests, q)
		}
	}
}

func (o *outbox) messages() []Message {
	out := make([]Message, 0, len(o.msgs))
	for i := range o.msgs {
		m := &o.msgs[i].Message
		data, err := wire.EncodeMessage(*m)
		if err != nil {
			// Our own states always encode; a failure here is a bug.
			panic(fmt.Sprintf("app: encode own message: %v", err))
		}
		out = append(out, Message{Recipient: m.Recipient, Sender: m.Sender, Data: data})
	}
	return out
}
