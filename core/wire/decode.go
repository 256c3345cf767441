package wire

import (
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"

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

// token reads the next JSON token; a string that is not valid UTF-8 is
// refused here, with its path.
func (d *decoder) token(path pth) (token, error) {
	t, err := d.lx.next()
	if err != nil {
		if err == io.EOF || err == errUnexpectedEnd {
			return t, errAt(ErrMalformed, path.String(), "unexpected end of input")
		}
		return t, errAt(ErrMalformed, path.String(), "%v", err)
	}
	if d.lx.badUTF8 {
		return t, errAt(ErrMalformed, path.String(), "string is not valid UTF-8")
	}
	return t, nil
}

// kind names a token's JSON type for error messages.
func kind(t token) string {
	switch t.kind {
	case tokDelim:
		switch t.delim {
		case '{':
			return "object"
		case '[':
			return "array"
		}
		return "'" + string(t.delim) + "'"
	case tokString:
		return "string"
	case tokNumber:
		return "number"
	case tokBool:
		return "boolean"
	}
	return "null"
}

func wrongType(path pth, want string, t token) error {
	return errAt(ErrMalformed, path.String(), "should be %s, got %s", want, kind(t))
}

// object reads a JSON object, calling field for each key with the key's path;
// field must consume the value. Duplicate keys are rejected. After the object
// it checks the required keys in order.
func (d *decoder) object(path pth, required []string, field func(key string, path pth) error) error {
	t, err := d.token(path)
	if err != nil {
		return err
	}
	if t.kind != tokDelim || t.delim != '{' {
		return wrongType(path, "object", t)
	}
	// The keys seen so far (views of the input, used only here). Objects
	// have few keys, and an unknown one ends the decoding.
	var buf [16]string
	seen := buf[:0]
	for d.lx.more() {
		t, err := d.token(path)
		if err != nil {
			return err
		}
		if t.kind != tokString { // the tokenizer only yields string keys; be safe anyway
			return wrongType(path, "object key", t)
		}
		key := t.s
		for _, k := range seen {
			if k == key {
				return errAt(ErrMalformed, path.String(), "duplicate key %q", truncate(key))
			}
		}
		seen = append(seen, key)
		if err := field(key, path.child(pathSeg{key: key})); err != nil {
			return err
		}
	}
	if _, err := d.token(path); err != nil { // the closing brace
		return err
	}
	for _, k := range required {
		found := false
		for _, s := range seen {
			found = found || s == k
		}
		if !found {
			return errAt(ErrMissingField, path.String(), "missing required property %q", k)
		}
	}
	return nil
}

func unknownField(path pth) error {
	return errAt(ErrUnknownField, path.String(), "not allowed by the schema")
}

// array reads a JSON array of at most max elements, calling elem for each.
func (d *decoder) array(path pth, max int, elem func(i int, path pth) error) error {
	t, err := d.token(path)
	if err != nil {
		return err
	}
	if t.kind != tokDelim || t.delim != '[' {
		return wrongType(path, "array", t)
	}
	for i := 0; d.lx.more(); i++ {
		if i >= max {
			return errAt(ErrTooLarge, path.String(), "more than %d elements", max)
		}
		if err := elem(i, path.child(pathSeg{index: i, isIdx: true})); err != nil {
			return err
		}
	}
	_, err = d.token(path) // the closing bracket
	return err
}

// str reads a string the decoded message keeps (a copy).
func (d *decoder) str(path pth) (string, error) {
	s, err := d.view(path)
	return strings.Clone(s), err
}

// view reads a string that is only parsed: it may view the input.
func (d *decoder) view(path pth) (string, error) {
	t, err := d.token(path)
	if err != nil {
		return "", err
	}
	if t.kind != tokString {
		return "", wrongType(path, "string", t)
	}
	return t.s, nil
}

func (d *decoder) boolean(path pth) (bool, error) {
	t, err := d.token(path)
	if err != nil {
		return false, err
	}
	if t.kind != tokBool {
		return false, wrongType(path, "boolean", t)
	}
	return t.b, nil
}

func (d *decoder) uint48(path pth) (uint64, error) {
	t, err := d.token(path)
	if err != nil {
		return 0, err
	}
	if t.kind != tokNumber {
		return 0, wrongType(path, "number", t)
	}
	return parseAt(path, func(p string) (uint64, error) { return parseUint48(t.s, p) })
}

func (d *decoder) bytes32(path pth) (nitro.Bytes32, error) {
	s, err := d.view(path)
	if err != nil {
		return nitro.Bytes32{}, err
	}
	return parseAt(path, func(p string) (nitro.Bytes32, error) { return parseBytes32(s, p) })
}

func (d *decoder) address(path pth) (nitro.Address, error) {
	s, err := d.view(path)
	if err != nil {
		return nitro.Address{}, err
	}
	return parseAt(path, func(p string) (nitro.Address, error) { return parseAddress(s, p) })
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
	err := d.object(path, []string{"walletVersion"}, func(key string, path pth) (err error) {
		switch key {
		case "walletVersion":
			p.WalletVersion, err = d.str(path)
		case "signedStates":
			err = d.array(path, d.lim.MaxStates, func(_ int, path pth) error {
				ss, err := d.signedState(path)
				p.SignedStates = append(p.SignedStates, ss)
				return err
			})
		case "objectives":
			err = d.array(path, d.lim.MaxObjectives, func(_ int, path pth) error {
				o, err := d.objective(path)
				p.Objectives = append(p.Objectives, o)
				return err
			})
		case "requests":
			err = d.array(path, d.lim.MaxRequests, func(_ int, path pth) error {
				r, err := d.request(path)
				p.Requests = append(p.Requests, r)
				return err
			})
		default:
			err = unknownField(path)
		}
		return err
	})
	return p, err
}

var signedStateRequired = []string{
	"chainId", "participants", "channelNonce", "appDefinition", "challengeDuration",
	"outcome", "turnNum", "appData", "isFinal", "channelId", "signatures",
}

func (d *decoder) signedState(path pth) (core.SignedState, error) {
	var (
		ss      core.SignedState
		st      = &ss.State
		claimed nitro.Bytes32
	)
	err := d.object(path, signedStateRequired, func(key string, path pth) (err error) {
		switch key {
		case "chainId":
			var s string
			if s, err = d.view(path); err == nil {
				st.ChainID, err = parseAt(path, func(p string) (*big.Int, error) { return parseChainID(s, p) })
			}
		case "participants":
			// A state's participants are also bounded by Nitro itself.
			ss.Participants, err = d.participants(path, min(d.lim.MaxParticipants, nitro.MaxParticipants))
		case "channelNonce":
			st.ChannelNonce, err = d.uint48(path)
		case "appDefinition":
			st.AppDefinition, err = d.address(path)
		case "challengeDuration":
			st.ChallengeDuration, err = d.uint48(path)
		case "outcome":
			st.Outcome, err = d.outcome(path)
		case "turnNum":
			st.TurnNum, err = d.uint48(path)
		case "appData":
			var s string
			if s, err = d.view(path); err == nil {
				st.AppData, err = parseAt(path, func(p string) ([]byte, error) { return parseBytes(s, d.lim.MaxAppDataBytes, p) })
			}
		case "isFinal":
			st.IsFinal, err = d.boolean(path)
		case "channelId":
			claimed, err = d.bytes32(path)
		case "signatures":
			err = d.array(path, d.lim.MaxSignatures, func(_ int, path pth) error {
				sig, err := d.signature(path)
				ss.Signatures = append(ss.Signatures, sig)
				return err
			})
		default:
			err = unknownField(path)
		}
		return err
	})
	if err != nil {
		return ss, err
	}
	for _, p := range ss.Participants {
		st.Participants = append(st.Participants, p.SigningAddress)
	}
	if !d.lim.FormatOnly {
		id, err := st.ChannelID()
		if err != nil {
			return ss, fmt.Errorf("%w: %s.channelId: cannot compute the channel id: %w", ErrChannelIDMismatch, path.String(), err)
		}
		if id != claimed {
			return ss, errAt(ErrChannelIDMismatch, path.String()+".channelId", "claimed %s, computed %s", fmtBytes32(claimed), fmtBytes32(id))
		}
		if d.wantIDs {
			d.ids = append(d.ids, id)
		}
	} else if d.wantIDs {
		id, _ := st.ChannelID()
		d.ids = append(d.ids, id)
	}
	return ss, nil
}

func (d *decoder) signature(path pth) (nitro.Signature, error) {
	s, err := d.view(path)
	if err != nil {
		return nitro.Signature{}, err
	}
	var b [65]byte
	if _, err := parseAt(path, func(p string) (struct{}, error) { return struct{}{}, parseFixedInto(b[:], s, p) }); err != nil {
		return nitro.Signature{}, err
	}
	sig, err := nitro.SignatureFromBytes(b[:])
	if err != nil && d.lim.FormatOnly {
		sig = nitro.Signature{V: b[64], R: nitro.Bytes32(b[:32]), S: nitro.Bytes32(b[32:64])}
		err = nil
	}
	if err != nil {
		return nitro.Signature{}, fmt.Errorf("%w: %s: %w", ErrOutOfRange, path.String(), err)
	}
	return sig, nil
}

func (d *decoder) participants(path pth, max int) ([]core.Participant, error) {
	ps := make([]core.Participant, 0, 2) // most channels have two
	err := d.array(path, max, func(_ int, path pth) error {
		p, err := d.participant(path)
		ps = append(ps, p)
		return err
	})
	if len(ps) == 0 {
		ps = nil // empty arrays decode as nil slices
	}
	return ps, err
}

func (d *decoder) participant(path pth) (core.Participant, error) {
	var p core.Participant
	err := d.object(path, []string{"participantId", "signingAddress", "destination"}, func(key string, path pth) (err error) {
		switch key {
		case "participantId":
			p.ParticipantID, err = d.str(path)
		case "signingAddress":
			p.SigningAddress, err = d.address(path)
		case "destination":
			var s string
			if s, err = d.view(path); err == nil {
				p.Destination, err = parseAt(path, func(p string) (nitro.Bytes32, error) { return parseDestination(s, p) })
			}
		default:
			err = unknownField(path)
		}
		return err
	})
	return p, err
}

// outcome reads Allocation[] or Guarantee[]; the schema's anyOf forbids
// mixing the two in one outcome.
func (d *decoder) outcome(path pth) (nitro.Outcome, error) {
	var (
		out                   nitro.Outcome
		nAlloc, nGuar         int
		firstAlloc, firstGuar int // element indexes
	)
	arrayPath := path
	err := d.array(path, d.lim.MaxAssets, func(i int, path pth) error {
		a, err := d.assetOutcome(path)
		if err != nil {
			return err
		}
		if a.Guarantee != nil {
			nGuar++
			if nGuar == 1 {
				firstGuar = i
			}
		} else {
			nAlloc++
			if nAlloc == 1 {
				firstAlloc = i
			}
		}
		if nAlloc > 0 && nGuar > 0 {
			at := path.String()
			allocAt := arrayPath.child(pathSeg{index: firstAlloc, isIdx: true}).String()
			guarAt := arrayPath.child(pathSeg{index: firstGuar, isIdx: true}).String()
			return errAt(ErrMalformed, at, "outcome mixes allocations (%s) and guarantees (%s)", allocAt, guarAt)
		}
		out = append(out, a)
		return nil
	})
	return out, err
}

// assetOutcome reads an Allocation {assetHolderAddress, allocationItems} or a
// Guarantee {assetHolderAddress, targetChannelId, destinations}.
func (d *decoder) assetOutcome(path pth) (nitro.AssetOutcome, error) {
	var (
		a                             nitro.AssetOutcome
		g                             nitro.Guarantee
		hasItems, hasTarget, hasDests bool
		targetPath, destsPath         string // rendered: later fields reuse the path stack
	)
	err := d.object(path, []string{"assetHolderAddress"}, func(key string, path pth) (err error) {
		switch key {
		case "assetHolderAddress":
			a.AssetHolder, err = d.address(path)
		case "allocationItems":
			hasItems = true
			err = d.array(path, d.lim.MaxAllocationItems, func(_ int, path pth) error {
				it, err := d.allocationItem(path)
				a.Allocation = append(a.Allocation, it)
				return err
			})
		case "targetChannelId":
			hasTarget, targetPath = true, path.String()
			g.TargetChannelID, err = d.bytes32(path)
		case "destinations":
			hasDests, destsPath = true, path.String()
			err = d.array(path, d.lim.MaxAllocationItems, func(_ int, path pth) error {
				dst, err := d.bytes32(path)
				g.Destinations = append(g.Destinations, dst)
				return err
			})
		default:
			err = unknownField(path)
		}
		return err
	})
	if err != nil {
		return a, err
	}
	switch {
	case hasItems && hasTarget:
		return a, errAt(ErrUnknownField, targetPath, "not allowed in an allocation")
	case hasItems && hasDests:
		return a, errAt(ErrUnknownField, destsPath, "not allowed in an allocation")
	case hasItems:
		return a, nil
	case hasTarget || hasDests:
		if !hasTarget {
			return a, errAt(ErrMissingField, path.String(), "missing required property %q", "targetChannelId")
		}
		if !hasDests {
			return a, errAt(ErrMissingField, path.String(), "missing required property %q", "destinations")
		}
		gp := g
		a.Guarantee = &gp
		return a, nil
	}
	return a, errAt(ErrMissingField, path.String(), "missing required property %q (or a guarantee's targetChannelId and destinations)", "allocationItems")
}

func (d *decoder) allocationItem(path pth) (nitro.AllocationItem, error) {
	var it nitro.AllocationItem
	err := d.object(path, []string{"destination", "amount"}, func(key string, path pth) (err error) {
		switch key {
		case "destination":
			it.Destination, err = d.bytes32(path)
		case "amount":
			var s string
			if s, err = d.view(path); err == nil {
				it.Amount, err = parseAt(path, func(p string) (*big.Int, error) { return parseUint256(s, p) })
			}
		default:
			err = unknownField(path)
		}
		return err
	})
	return it, err
}

// objectiveData lists, per objective type, the data fields allowed and which
// are required (in the schema's order).
var objectiveData = map[string]struct{ allowed, required []string }{
	core.ObjectiveOpenChannel: {
		[]string{"targetChannelId", "fundingStrategy", "role", "fundingLedgerChannelId"},
		[]string{"targetChannelId", "fundingStrategy"}},
	core.ObjectiveCloseChannel: {
		[]string{"targetChannelId", "fundingStrategy"},
		[]string{"targetChannelId", "fundingStrategy"}},
	core.ObjectiveVirtuallyFund: {
		[]string{"targetChannelId", "jointChannelId"},
		[]string{"targetChannelId", "jointChannelId"}},
	core.ObjectiveFundGuarantor: {
		[]string{"jointChannelId", "ledgerId", "guarantorId"},
		[]string{"jointChannelId", "ledgerId", "guarantorId"}},
	core.ObjectiveFundLedger:  {[]string{"ledgerId"}, []string{"ledgerId"}},
	core.ObjectiveCloseLedger: {[]string{"ledgerId"}, []string{"ledgerId"}},
}

// dataFields is the union of every objective type's data fields, all strings.
var dataFields = map[string]bool{
	"targetChannelId": true, "fundingStrategy": true, "role": true, "fundingLedgerChannelId": true,
	"jointChannelId": true, "ledgerId": true, "guarantorId": true,
}

var fundingStrategies = map[string]bool{
	core.FundingDirect: true, core.FundingLedger: true, core.FundingVirtual: true,
	core.FundingFake: true, core.FundingUnknown: true,
}

var roles = map[string]bool{"app": true, "ledger": true}

func (d *decoder) objective(path pth) (core.Objective, error) {
	var (
		o        core.Objective
		data     = map[string]string{}
		dataPath = path.String() + ".data"
	)
	err := d.object(path, []string{"type", "data"}, func(key string, path pth) (err error) {
		switch key {
		case "type":
			o.Type, err = d.str(path)
			if err == nil {
				if _, ok := objectiveData[o.Type]; !ok {
					err = errAt(ErrUnsupported, path.String(), "unknown objective type %q", truncate(o.Type))
				}
			}
		case "participants":
			o.Participants, err = d.participants(path, d.lim.MaxParticipants)
		case "data":
			// The type may come after data, so collect the string fields
			// first and check them against the type afterwards.
			err = d.object(path, nil, func(key string, path pth) error {
				if !dataFields[key] {
					return unknownField(path)
				}
				s, err := d.str(path)
				data[key] = s
				return err
			})
		default:
			err = unknownField(path)
		}
		return err
	})
	if err != nil {
		return o, err
	}
	spec := objectiveData[o.Type]
	for k := range data {
		if !contains(spec.allowed, k) {
			return o, errAt(ErrUnknownField, dataPath+"."+k, "not allowed in %s data", o.Type)
		}
	}
	for _, k := range spec.required {
		if _, ok := data[k]; !ok {
			return o, errAt(ErrMissingField, dataPath, "missing required property %q", k)
		}
	}
	for _, k := range spec.allowed {
		v, ok := data[k]
		if !ok {
			continue
		}
		p := dataPath + "." + k
		switch k {
		case "targetChannelId":
			o.TargetChannelID, err = parseBytes32(v, p)
		case "jointChannelId":
			o.JointChannelID, err = parseBytes32(v, p)
		case "ledgerId":
			o.LedgerID, err = parseBytes32(v, p)
		case "guarantorId":
			o.GuarantorID, err = parseBytes32(v, p)
		case "fundingStrategy":
			if !fundingStrategies[v] {
				err = errAt(ErrUnsupported, p, "unknown funding strategy %q", truncate(v))
			}
			o.FundingStrategy = v
		case "role":
			if !roles[v] {
				err = errAt(ErrUnsupported, p, "unknown role %q", truncate(v))
			}
			o.Role = v
		case "fundingLedgerChannelId":
			err = checkLedgerRef(v, p)
			o.FundingLedgerChannelID = v
		}
		if err != nil {
			return o, err
		}
	}
	return o, nil
}

// checkLedgerRef validates OpenChannel's fundingLedgerChannelId. The schema
// types it as an Address, but the server wallet puts a channel id there, so
// both 0x + 40 and 0x + 64 hex digits are accepted (kept verbatim).
func checkLedgerRef(s, path string) error {
	_, err := parseDestination(s, path)
	return err
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func (d *decoder) request(path pth) (core.Request, error) {
	var r core.Request
	err := d.object(path, []string{"type", "channelId"}, func(key string, path pth) (err error) {
		switch key {
		case "type":
			r.Type, err = d.str(path)
			if err == nil && r.Type != core.RequestGetChannel {
				err = errAt(ErrUnsupported, path.String(), "unknown request type %q", truncate(r.Type))
			}
		case "channelId":
			r.ChannelID, err = d.bytes32(path)
		default:
			err = unknownField(path)
		}
		return err
	})
	return r, err
}

// pth is a field's path for error messages, rendered only when needed: the
// first n segments of the decoder's path stack. An object or an array sets
// the segment below it for each field or element before decoding it, so
// the stack always holds the path of what is being decoded, and rendering
// a path (only for an error, while its value is decoded) costs nothing
// until then.
type pth struct {
	st *pathStack
	n  int
}

// pathStack holds the segments of the current path: a key, or an index.
type pathStack struct {
	segs []pathSeg
	buf  [8]pathSeg
}

type pathSeg struct {
	key   string
	index int
	isIdx bool
}

// root starts a new path stack at a top-level name ("data", "message").
func (d *decoder) root(s string) pth {
	d.path.segs = append(d.path.buf[:0], pathSeg{key: s})
	return pth{st: &d.path, n: 1}
}

// child returns the path of p's key or element: the stack cut at p, with
// the segment pushed.
func (p pth) child(seg pathSeg) pth {
	p.st.segs = append(p.st.segs[:p.n], seg)
	return pth{st: p.st, n: p.n + 1}
}

// String renders the path, like data.signedStates[0].turnNum.
func (p pth) String() string {
	if p.st == nil || p.n == 0 {
		return ""
	}
	var b strings.Builder
	for i, seg := range p.st.segs[:p.n] {
		switch {
		case seg.isIdx:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(seg.index))
			b.WriteByte(']')
		case i > 0:
			b.WriteByte('.')
			b.WriteString(seg.key)
		default:
			b.WriteString(seg.key)
		}
	}
	return b.String()
}

// parseAt runs a parse step without a path, and again with the rendered path
// if it fails, so that a path is only built for an error (parse steps are
// pure and fail the same way twice).
func parseAt[T any](p pth, parse func(path string) (T, error)) (T, error) {
	v, err := parse("")
	if err != nil {
		return parse(p.String())
	}
	return v, nil
}
