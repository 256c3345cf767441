package wire

import (
	"io"
	"slices"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// DecodeMessage parses and validates a wire Message
// ({recipient, sender?, data: Payload}). Every error wraps one of the
// package's sentinels (and so ErrInvalidMessage). Unless lim.FormatOnly is
// set, each signed state's channelId must equal the id computed from its
// fixed part (else ErrChannelIDMismatch) and each signature's v must be 27 or
// 28 (0 and 1 are normalised; else ErrOutOfRange). The claimed channelId is
// not returned: after a successful check it equals State.ChannelID(). Empty
// arrays decode as nil slices.
func DecodeMessage(b []byte, lim Limits) (core.Message, error) {
	m, _, err := decodeMessage(b, lim, false)
	return m, err
}

// DecodeMessageIDs is DecodeMessage that also returns the channel id of
// each signed state, in order: the decoder computes them to check the
// claimed ones (with Limits.FormatOnly it computes them for this, and a
// state whose id cannot be computed gets the zero id).
func DecodeMessageIDs(b []byte, lim Limits) (core.Message, []nitro.Bytes32, error) {
	return decodeMessage(b, lim, true)
}

func decodeMessage(b []byte, lim Limits, wantIDs bool) (core.Message, []nitro.Bytes32, error) {
	d, err := newDecoder(b, lim)
	if err != nil {
		return core.Message{}, nil, err
	}
	d.wantIDs = wantIDs
	m, err := d.message()
	if err != nil {
		return core.Message{}, nil, err
	}
	if err := d.end(); err != nil {
		return core.Message{}, nil, err
	}
	return m, d.ids, nil
}

// DecodePayload parses and validates a wire Payload alone (the data of a
// Message, which is what the server wallet's pushMessage takes), with the
// same checks as DecodeMessage.
func DecodePayload(b []byte, lim Limits) (core.Payload, error) {
	d, err := newDecoder(b, lim)
	if err != nil {
		return core.Payload{}, err
	}
	p, err := d.payload(d.root("data"))
	if err != nil {
		return core.Payload{}, err
	}
	if err := d.end(); err != nil {
		return core.Payload{}, err
	}
	return p, nil
}

// DecodePushedIDs is DecodeMessageIDs for what a wallet's PushMessage
// takes: either a wire Message ({recipient, sender?, data: Payload}) or a
// bare Payload ({walletVersion, signedStates?, objectives?, requests?}),
// which is what the server wallet's pushMessage takes. The two forms share
// no top-level key, so each key says which form it belongs to: keys of
// both forms in one object are ErrUnknownField, and an object with neither
// (the empty object) is read as a Message missing its required fields.
// bare reports a Payload; its Message has an empty Recipient and Sender.
// The limits and errors are DecodeMessage's.
func DecodePushedIDs(b []byte, lim Limits) (m core.Message, ids []nitro.Bytes32, bare bool, err error) {
	d, err := newDecoder(b, lim)
	if err != nil {
		return core.Message{}, nil, false, err
	}
	d.wantIDs = true
	m, bare, err = d.messageOrPayload()
	if err != nil {
		return core.Message{}, nil, false, err
	}
	if err := d.end(); err != nil {
		return core.Message{}, nil, false, err
	}
	return m, d.ids, bare, nil
}

// messageOrPayload decodes the root object as a Message or a bare Payload,
// decided by its first key.
func (d *decoder) messageOrPayload() (core.Message, bool, error) {
	var (
		m          core.Message
		isEnvelope bool
		isPayload  bool
		seen       [4]string // the object's known keys (no duplicates: object refuses them)
		nSeen      int
	)
	root := d.root("message")
	err := d.object(root, nil, func(key string, path pth) (err error) {
		if (messageKeys[key] || payloadKeys[key]) && nSeen < len(seen) {
			seen[nSeen] = key
			nSeen++
		}
		switch {
		case messageKeys[key] && !isPayload:
			isEnvelope = true
		case payloadKeys[key] && !isEnvelope:
			if !isPayload {
				// Errors inside name the payload as DecodePayload does.
				d.path.segs[0].key = "data"
				isPayload = true
			}
			return d.payloadField(&m.Payload, key, path)
		default:
			return unknownField(path)
		}
		switch key {
		case "recipient":
			m.Recipient, err = d.str(path)
		case "sender":
			m.Sender, err = d.str(path)
		case "data":
			m.Payload, err = d.payload(path)
		}
		return err
	})
	if err != nil {
		return core.Message{}, false, err
	}
	required := []string{"recipient", "data"}
	if isPayload {
		required = []string{"walletVersion"}
	}
	for _, k := range required {
		if !slices.Contains(seen[:nSeen], k) {
			return core.Message{}, false, errAt(ErrMissingField, root.String(), "missing required property %q", k)
		}
	}
	return m, isPayload, nil
}

type decoder struct {
	lx  *lexer
	lim Limits
	// The lexer and its stack live in the decoder's allocation.
	lexer    lexer
	stackBuf [8]lexState
	// wantIDs asks for the channel id of each signed state, in ids.
	wantIDs bool
	ids     []nitro.Bytes32
	// The path stack of what is being decoded (see pth).
	path pathStack
}

func newDecoder(b []byte, lim Limits) (*decoder, error) {
	lim = lim.normalized()
	if len(b) > lim.MaxMessageBytes {
		return nil, errAt(ErrTooLarge, "message", "%d bytes exceed the limit of %d", len(b), lim.MaxMessageBytes)
	}
	d := &decoder{lim: lim}
	d.lexer = lexer{b: b, stack: d.stackBuf[:0]}
	d.lx = &d.lexer
	return d, nil
}

// end requires that nothing but white space follows the value.
func (d *decoder) end() error {
	if _, err := d.lx.next(); err != io.EOF {
		return errAt(ErrMalformed, "message", "trailing data after the JSON value")
	}
	return nil
}

func (d *decoder) message() (core.Message, error) {
	var m core.Message
	err := d.object(d.root("message"), []string{"recipient", "data"}, func(key string, path pth) (err error) {
		switch key {
		case "recipient":
			m.Recipient, err = d.str(path)
		case "sender":
			m.Sender, err = d.str(path)
		case "data":
			m.Payload, err = d.payload(path)
		default:
			err = unknownField(path)
		}
		return err
	})
	return m, err
}

func (d *decoder) payload(path pth) (core.Payload, error) {
	var p core.Payload
	err := d.object(path, []string{"walletVersion"}, func(key string, path pth) error {
		if !payloadKeys[key] {
			return unknownField(path)
		}
		return d.payloadField(&p, key, path)
	})
	return p, err
}

// payloadKeys are a Payload's fields; messageKeys an envelope's. The two
// sets share no key, which is what tells the two forms apart.
var (
	payloadKeys = map[string]bool{"walletVersion": true, "signedStates": true, "objectives": true, "requests": true}
	messageKeys = map[string]bool{"recipient": true, "sender": true, "data": true}
)

// payloadField decodes one of payloadKeys into p.
func (d *decoder) payloadField(p *core.Payload, key string, path pth) (err error) {
	switch key {
	case "walletVersion":
		p.WalletVersion, err = d.str(path)
	case "signedStates":
		err = arrayOf(d, path, d.lim.MaxStates, (*decoder).signedState, &p.SignedStates)
	case "objectives":
		err = arrayOf(d, path, d.lim.MaxObjectives, (*decoder).objective, &p.Objectives)
	case "requests":
		err = arrayOf(d, path, d.lim.MaxRequests, (*decoder).request, &p.Requests)
	}
	return err
}
