package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// badBase is a valid message touching every object kind: a signed state with
// an allocation outcome, an objective with participants and a request.
func badBase(t *testing.T) map[string]any {
	t.Helper()
	ps := participants("alice", "bob")
	ss := signedState(ps, nitro.State{
		ChainID: big.NewInt(1337), ChannelNonce: 7, AppDefinition: addr("app"), ChallengeDuration: 100,
		AppData: []byte{1, 2, 3}, TurnNum: 2,
		Outcome: nitro.Outcome{{AssetHolder: addr("holder"), Allocation: []nitro.AllocationItem{
			{Destination: ps[0].Destination, Amount: big.NewInt(10)},
			{Destination: ps[1].Destination, Amount: big.NewInt(20)},
		}}},
	}, sig("a", 27), sig("b", 28))
	m := core.Message{Recipient: "bob", Sender: "alice", Payload: core.Payload{
		SignedStates: []core.SignedState{ss},
		Objectives: []core.Objective{{Type: core.ObjectiveOpenChannel, Participants: ps,
			TargetChannelID: channelID(t, ss), FundingStrategy: core.FundingDirect}},
		Requests: []core.Request{{Type: core.RequestGetChannel, ChannelID: channelID(t, ss)}},
	}}
	return toTree(t, mustEncode(t, m))
}

// guaranteeBase is a valid message whose outcome is a guarantee.
func guaranteeBase(t *testing.T) map[string]any {
	t.Helper()
	ps := participants("alice", "bob", "carol")
	ss := signedState(ps, nitro.State{
		ChainID: big.NewInt(1), ChannelNonce: 1, AppDefinition: addr("app"), ChallengeDuration: 1,
		Outcome: nitro.Outcome{{AssetHolder: addr("holder"), Guarantee: &nitro.Guarantee{
			TargetChannelID: b32("t"), Destinations: []nitro.Bytes32{ps[0].Destination, ps[1].Destination}}}},
	})
	return toTree(t, mustEncode(t, core.Message{Recipient: "r", Payload: core.Payload{SignedStates: []core.SignedState{ss}}}))
}

func mustEncode(t *testing.T, m core.Message) []byte {
	t.Helper()
	b, err := EncodeMessage(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func toTree(t *testing.T, b []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// at walks keys (string) and indexes (int) down a decoded JSON tree.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
	}
	return v
}

// Mutations of the base tree.
type mutation func(root map[string]any)

func set(value any, path ...any) mutation {
	return func(root map[string]any) {
		parent, last := at(root, path[:len(path)-1]...), path[len(path)-1]
		switch k := last.(type) {
		case string:
			parent.(map[string]any)[k] = value
		case int:
			parent.([]any)[k] = value
		}
	}
}

func del(path ...any) mutation {
	return func(root map[string]any) {
		delete(at(root, path[:len(path)-1]...).(map[string]any), path[len(path)-1].(string))
	}
}

func extra(path ...any) mutation {
	return func(root map[string]any) { at(root, path...).(map[string]any)["iShouldntBeHere"] = true }
}

var (
	ss0     = []any{"data", "signedStates", 0}
	part0   = []any{"data", "signedStates", 0, "participants", 0}
	alloc0  = []any{"data", "signedStates", 0, "outcome", 0}
	item0   = []any{"data", "signedStates", 0, "outcome", 0, "allocationItems", 0}
	obj0    = []any{"data", "objectives", 0}
	objData = []any{"data", "objectives", 0, "data"}
	req0    = []any{"data", "requests", 0}
)

// rawMarker stands for a raw string in withRaw.
const rawMarker = "raw-marker"

// withRaw is badBase changed by mut, with the string rawMarker (a value or
// a key mut put there) replaced by the raw bytes of bad, which may be
// invalid UTF-8: a tree cannot hold those, json.Marshal would replace them
// with U+FFFD.
func withRaw(t *testing.T, bad string, mut mutation) []byte {
	t.Helper()
	tree := badBase(t)
	mut(tree)
	b, err := json.Marshal(tree)
	if err != nil {
		t.Fatal(err)
	}
	q := []byte(`"` + rawMarker + `"`)
	if bytes.Count(b, q) != 1 {
		t.Fatalf("withRaw: marker not found once in %s", b)
	}
	return bytes.Replace(b, q, []byte(`"`+bad+`"`), 1)
}

func p(base []any, more ...any) []any { return append(append([]any(nil), base...), more...) }

// schemaVerdict is what the published schema says about a bad row.
type schemaVerdict int

const (
	notJSON       schemaVerdict = iota // not a single JSON value: nothing to validate
	schemaRejects                      // the schema rejects it too
	schemaAccepts                      // we are stricter than the schema
)

func hexN(n int, c byte) string { return "0x" + strings.Repeat(string(c), n) }

func TestDecodeRejects(t *testing.T) {
	type row struct {
		name   string
		raw    []byte // used when set
		base   func(*testing.T) map[string]any
		mut    []mutation // applied to base (badBase when nil)
		lim    *Limits
		want   []error // every one must match
		where  string  // substring of the error message
		schema schemaVerdict
	}
	small := func(f func(*Limits)) *Limits { l := DefaultLimits(); f(&l); return &l }
	manyParticipants := func(n int) mutation {
		return func(root map[string]any) {
			one := at(root, part0...)
			ps := make([]any, n)
			for i := range ps {
				ps[i] = one
			}
			at(root, ss0...).(map[string]any)["participants"] = ps
		}
	}
	rows := []row{
		// Syntax.
		{name: "malformed JSON", raw: []byte(`{"recipient":"bob",}`), want: []error{ErrMalformed}},
		{name: "not JSON", raw: []byte(`hello`), want: []error{ErrMalformed}},
		{name: "empty input", raw: []byte(``), want: []error{ErrMalformed}},
		{name: "trailing data", raw: []byte(`{"recipient":"r","data":{"walletVersion":"v"}} {}`), want: []error{ErrMalformed}, where: "trailing"},
		{name: "top level array", raw: []byte(`[]`), want: []error{ErrMalformed}, schema: schemaRejects},
		{name: "top level null", raw: []byte(`null`), want: []error{ErrMalformed}, schema: schemaRejects},
		{name: "duplicate key", raw: []byte(`{"recipient":"r","recipient":"s","data":{"walletVersion":"v"}}`), want: []error{ErrMalformed}, where: "duplicate", schema: schemaAccepts},
		// Wrong JSON types.
		{name: "data is a string", mut: []mutation{set("x", "data")}, want: []error{ErrMalformed}, where: "message.data", schema: schemaRejects},
		{name: "recipient is a number", mut: []mutation{set(json.Number("1"), "recipient")}, want: []error{ErrMalformed}, schema: schemaRejects},
		{name: "objectives null", mut: []mutation{set(nil, "data", "objectives")}, want: []error{ErrMalformed}, schema: schemaRejects},
		{name: "objectives empty string", mut: []mutation{set("", "data", "objectives")}, want: []error{ErrMalformed}, schema: schemaRejects},
		{name: "participants is an object", mut: []mutation{set(map[string]any{}, p(ss0, "participants")...)}, want: []error{ErrMalformed}, schema: schemaRejects},
		{name: "isFinal is a string", mut: []mutation{set("false", p(ss0, "isFinal")...)}, want: []error{ErrMalformed}, schema: schemaRejects},
		{name: "chainId is a number", mut: []mutation{set(json.Number("1337"), p(ss0, "chainId")...)}, want: []error{ErrMalformed}, schema: schemaRejects},
		{name: "string turnNum", mut: []mutation{set("0x0", p(ss0, "turnNum")...)}, want: []error{ErrMalformed}, where: "turnNum", schema: schemaRejects},
		{name: "null turnNum", mut: []mutation{set(nil, p(ss0, "turnNum")...)}, want: []error{ErrMalformed}, schema: schemaRejects},
		{name: "signature is a number", mut: []mutation{set(json.Number("1"), p(ss0, "signatures", 0)...)}, want: []error{ErrMalformed}, schema: schemaRejects},
		{name: "data field is a number", mut: []mutation{set(json.Number("1"), p(objData, "targetChannelId")...)}, want: []error{ErrMalformed}, schema: schemaRejects},
		// An extra field at each level.
		{name: "extra field in message", mut: []mutation{extra()}, want: []error{ErrUnknownField}, where: "message.iShouldntBeHere", schema: schemaRejects},
		{name: "extra field in data", mut: []mutation{extra("data")}, want: []error{ErrUnknownField}, where: "message.data.iShouldntBeHere", schema: schemaRejects},
		{name: "extra field in signedState", mut: []mutation{extra(ss0...)}, want: []error{ErrUnknownField}, where: "signedStates[0].iShouldntBeHere", schema: schemaRejects},
		{name: "extra field in participant", mut: []mutation{extra(part0...)}, want: []error{ErrUnknownField}, where: "participants[0].iShouldntBeHere", schema: schemaRejects},
		{name: "extra field in allocation", mut: []mutation{extra(alloc0...)}, want: []error{ErrUnknownField}, where: "outcome[0].iShouldntBeHere", schema: schemaRejects},
		{name: "extra field in allocationItem", mut: []mutation{extra(item0...)}, want: []error{ErrUnknownField}, where: "allocationItems[0].iShouldntBeHere", schema: schemaRejects},
		{name: "extra field in guarantee", base: guaranteeBase, mut: []mutation{extra(alloc0...)}, want: []error{ErrUnknownField}, schema: schemaRejects},
		{name: "extra field in objective", mut: []mutation{extra(obj0...)}, want: []error{ErrUnknownField}, where: "objectives[0].iShouldntBeHere", schema: schemaRejects},
		{name: "extra field in objective participant", mut: []mutation{extra(p(obj0, "participants", 1)...)}, want: []error{ErrUnknownField}, schema: schemaRejects},
		{name: "extra field in objective.data", mut: []mutation{extra(objData...)}, want: []error{ErrUnknownField}, where: "data.iShouldntBeHere", schema: schemaRejects},
		{name: "extra field in request", mut: []mutation{extra(req0...)}, want: []error{ErrUnknownField}, schema: schemaRejects},
		{name: "other objective's data field", mut: []mutation{set(hexN(64, 'a'), p(objData, "ledgerId")...)}, want: []error{ErrUnknownField}, where: "data.ledgerId", schema: schemaRejects},
		{name: "guarantee field in allocation", mut: []mutation{set([]any{}, p(alloc0, "destinations")...)}, want: []error{ErrUnknownField}, schema: schemaRejects},
		// Missing fields.
		{name: "missing recipient", mut: []mutation{del("recipient")}, want: []error{ErrMissingField}, where: `"recipient"`, schema: schemaRejects},
		{name: "missing data", mut: []mutation{del("data")}, want: []error{ErrMissingField}, schema: schemaRejects},
		{name: "missing walletVersion", mut: []mutation{del("data", "walletVersion")}, want: []error{ErrMissingField}, schema: schemaRejects},
		{name: "missing participantId", mut: []mutation{del(p(part0, "participantId")...)}, want: []error{ErrMissingField}, schema: schemaRejects},
		{name: "missing destination", mut: []mutation{del(p(part0, "destination")...)}, want: []error{ErrMissingField}, schema: schemaRejects},
		{name: "missing assetHolderAddress", mut: []mutation{del(p(alloc0, "assetHolderAddress")...)}, want: []error{ErrMissingField}, schema: schemaRejects},
		{name: "missing allocationItems", mut: []mutation{del(p(alloc0, "allocationItems")...)}, want: []error{ErrMissingField}, schema: schemaRejects},
		{name: "missing amount", mut: []mutation{del(p(item0, "amount")...)}, want: []error{ErrMissingField}, schema: schemaRejects},
		{name: "missing guarantee destinations", base: guaranteeBase, mut: []mutation{del(p(alloc0, "destinations")...)}, want: []error{ErrMissingField}, schema: schemaRejects},
		{name: "missing objective type", mut: []mutation{del(p(obj0, "type")...)}, want: []error{ErrMissingField}, schema: schemaRejects},
		{name: "missing objective data", mut: []mutation{del(p(obj0, "data")...)}, want: []error{ErrMissingField}, schema: schemaRejects},
		{name: "missing targetChannelId", mut: []mutation{del(p(objData, "targetChannelId")...)}, want: []error{ErrMissingField}, schema: schemaRejects},
		{name: "missing fundingStrategy", mut: []mutation{del(p(objData, "fundingStrategy")...)}, want: []error{ErrMissingField}, schema: schemaRejects},
		{name: "missing request channelId", mut: []mutation{del(p(req0, "channelId")...)}, want: []error{ErrMissingField}, schema: schemaRejects},
		// Bad hex.
		{name: "appData odd length", mut: []mutation{set("0x123", p(ss0, "appData")...)}, want: []error{ErrBadHex}, where: "appData", schema: schemaAccepts},
		{name: "appData non-hex", mut: []mutation{set("0xzz", p(ss0, "appData")...)}, want: []error{ErrBadHex}, schema: schemaRejects},
		{name: "appData no prefix", mut: []mutation{set("00", p(ss0, "appData")...)}, want: []error{ErrBadHex}, schema: schemaRejects},
		{name: "channelId 63 digits", mut: []mutation{set(hexN(63, 'a'), p(ss0, "channelId")...)}, want: []error{ErrBadHex}, schema: schemaRejects},
		{name: "channelId non-hex", mut: []mutation{set(hexN(63, 'a')+"g", p(ss0, "channelId")...)}, want: []error{ErrBadHex}, schema: schemaRejects},
		{name: "channelId 0X prefix", mut: []mutation{set("0X"+hexN(64, 'a')[2:], p(ss0, "channelId")...)}, want: []error{ErrBadHex}, schema: schemaRejects},
		{name: "amount 63 digits", mut: []mutation{set(hexN(63, '1'), p(item0, "amount")...)}, want: []error{ErrBadHex}, schema: schemaRejects},
		{name: "amount 65 digits (over 2^256-1)", mut: []mutation{set("0x1"+hexN(64, '0')[2:], p(item0, "amount")...)}, want: []error{ErrOutOfRange, ErrBadHex}, schema: schemaRejects},
		{name: "amount 65 digits, leading zero", mut: []mutation{set("0x0"+hexN(64, 'f')[2:], p(item0, "amount")...)}, want: []error{ErrBadHex}, schema: schemaRejects},
		{name: "amount non-hex", mut: []mutation{set(hexN(63, '0')+"x", p(item0, "amount")...)}, want: []error{ErrBadHex}, schema: schemaRejects},
		{name: "item destination 20 bytes", mut: []mutation{set(hexN(40, 'a'), p(item0, "destination")...)}, want: []error{ErrBadHex}, schema: schemaRejects},
		{name: "appDefinition 39 digits", mut: []mutation{set(hexN(39, 'a'), p(ss0, "appDefinition")...)}, want: []error{ErrBadHex}, schema: schemaRejects},
		{name: "appDefinition 41 digits", mut: []mutation{set(hexN(41, 'a'), p(ss0, "appDefinition")...)}, want: []error{ErrBadHex}, schema: schemaAccepts},
		{name: "signingAddress foo0", mut: []mutation{set("foo0", p(part0, "signingAddress")...)}, want: []error{ErrBadHex}, schema: schemaAccepts},
		{name: "assetHolderAddress no prefix", mut: []mutation{set(hexN(40, 'a')[2:]+"ab", p(alloc0, "assetHolderAddress")...)}, want: []error{ErrBadHex}, schema: schemaRejects},
		{name: "participant destination 30 bytes", mut: []mutation{set(hexN(60, 'a'), p(part0, "destination")...)}, want: []error{ErrBadHex}, schema: schemaAccepts},
		{name: "guarantee target 31 bytes", base: guaranteeBase, mut: []mutation{set(hexN(62, 'a'), p(alloc0, "targetChannelId")...)}, want: []error{ErrBadHex}, schema: schemaRejects},
		{name: "request channelId short", mut: []mutation{set("0x00", p(req0, "channelId")...)}, want: []error{ErrBadHex}, schema: schemaRejects},
		{name: "fundingLedgerChannelId short", mut: []mutation{set("0x1234", p(objData, "fundingLedgerChannelId")...)}, want: []error{ErrBadHex}, schema: schemaRejects},
		{name: "chainId not a number", mut: []mutation{set("mainnet", p(ss0, "chainId")...)}, want: []error{ErrBadHex}, schema: schemaAccepts},
		{name: "chainId empty", mut: []mutation{set("", p(ss0, "chainId")...)}, want: []error{ErrBadHex}, schema: schemaAccepts},
		{name: "chainId 0x only", mut: []mutation{set("0x", p(ss0, "chainId")...)}, want: []error{ErrBadHex}, schema: schemaAccepts},
		// Signatures.
		{name: "signature 64 bytes", mut: []mutation{set(hexN(128, '1'), p(ss0, "signatures", 0)...)}, want: []error{ErrBadHex}, schema: schemaAccepts},
		{name: "signature 66 bytes", mut: []mutation{set(hexN(132, '1'), p(ss0, "signatures", 0)...)}, want: []error{ErrBadHex}, schema: schemaAccepts},
		{name: "signature v=29", mut: []mutation{set(hexN(128, '1')+"1d", p(ss0, "signatures", 0)...)}, want: []error{ErrOutOfRange, nitro.ErrBadSignature}, where: "signatures[0]", schema: schemaAccepts},
		{name: "signature non-hex", mut: []mutation{set(hexN(128, '1')+"1g", p(ss0, "signatures", 0)...)}, want: []error{ErrBadHex}, schema: schemaAccepts},
		// Numbers.
		{name: "negative turnNum", mut: []mutation{set(json.Number("-1"), p(ss0, "turnNum")...)}, want: []error{ErrOutOfRange}, where: "turnNum", schema: schemaAccepts},
		{name: "fractional turnNum", mut: []mutation{set(json.Number("1.5"), p(ss0, "turnNum")...)}, want: []error{ErrOutOfRange}, schema: schemaAccepts},
		{name: "turnNum 2^48", mut: []mutation{set(json.Number("281474976710656"), p(ss0, "turnNum")...)}, want: []error{ErrOutOfRange}, schema: schemaAccepts},
		{name: "turnNum 1e300", mut: []mutation{set(json.Number("1e300"), p(ss0, "turnNum")...)}, want: []error{ErrOutOfRange}, schema: schemaAccepts},
		{name: "turnNum 1e999", mut: []mutation{set(json.Number("1e999"), p(ss0, "turnNum")...)}, want: []error{ErrOutOfRange}, schema: schemaAccepts},
		{name: "channelNonce 2^53+1", mut: []mutation{set(json.Number("9007199254740993"), p(ss0, "channelNonce")...)}, want: []error{ErrOutOfRange}, schema: schemaAccepts},
		{name: "challengeDuration negative", mut: []mutation{set(json.Number("-0.5"), p(ss0, "challengeDuration")...)}, want: []error{ErrOutOfRange}, schema: schemaAccepts},
		{name: "chainId over 2^256-1", mut: []mutation{set("0x1"+hexN(64, '0')[2:], p(ss0, "chainId")...)}, want: []error{ErrOutOfRange}, schema: schemaAccepts},
		{name: "chainId negative", mut: []mutation{set("-1", p(ss0, "chainId")...)}, want: []error{ErrOutOfRange}, schema: schemaAccepts},
		// Size limits.
		{name: "300 participants", mut: []mutation{manyParticipants(300)}, want: []error{ErrTooLarge}, where: "participants", schema: schemaAccepts},
		{name: "256 participants with a raised limit", mut: []mutation{manyParticipants(256)}, lim: small(func(l *Limits) { l.MaxParticipants = 1000 }), want: []error{ErrTooLarge}, schema: schemaAccepts},
		{name: "300 objective participants", mut: []mutation{func(root map[string]any) {
			ps := make([]any, 300)
			for i := range ps {
				ps[i] = at(root, part0...)
			}
			at(root, obj0...).(map[string]any)["participants"] = ps
		}}, want: []error{ErrTooLarge}, schema: schemaAccepts},
		{name: "1 MiB appData", mut: []mutation{set("0x"+strings.Repeat("ab", 1<<20), p(ss0, "appData")...)}, want: []error{ErrTooLarge}, where: "appData", schema: schemaAccepts},
		{name: "too many states", mut: []mutation{func(root map[string]any) {
			s := at(root, ss0...)
			at(root, "data").(map[string]any)["signedStates"] = []any{s, s, s}
		}}, lim: small(func(l *Limits) { l.MaxStates = 2 }), want: []error{ErrTooLarge}, where: "signedStates", schema: schemaAccepts},
		{name: "too many states, default limit", mut: []mutation{func(root map[string]any) {
			ss := make([]any, DefaultLimits().MaxStates+1)
			for i := range ss {
				ss[i] = at(root, ss0...)
			}
			at(root, "data").(map[string]any)["signedStates"] = ss
		}}, want: []error{ErrTooLarge}, schema: schemaAccepts},
		{name: "too many signatures", lim: small(func(l *Limits) { l.MaxSignatures = 1 }), want: []error{ErrTooLarge}, schema: schemaAccepts},
		{name: "too many assets", lim: small(func(l *Limits) { l.MaxAssets = 1 }), mut: []mutation{func(root map[string]any) {
			a := at(root, alloc0...)
			at(root, ss0...).(map[string]any)["outcome"] = []any{a, a}
		}}, want: []error{ErrTooLarge}, schema: schemaAccepts},
		{name: "too many allocation items", lim: small(func(l *Limits) { l.MaxAllocationItems = 1 }), want: []error{ErrTooLarge}, schema: schemaAccepts},
		{name: "too many objectives", lim: small(func(l *Limits) { l.MaxObjectives = 1 }), mut: []mutation{func(root map[string]any) {
			o := at(root, obj0...)
			at(root, "data").(map[string]any)["objectives"] = []any{o, o}
		}}, want: []error{ErrTooLarge}, schema: schemaAccepts},
		{name: "too many requests", lim: small(func(l *Limits) { l.MaxRequests = 1 }), mut: []mutation{func(root map[string]any) {
			r := at(root, req0...)
			at(root, "data").(map[string]any)["requests"] = []any{r, r}
		}}, want: []error{ErrTooLarge}, schema: schemaAccepts},
		{name: "appData over a small limit", lim: small(func(l *Limits) { l.MaxAppDataBytes = 2 }), want: []error{ErrTooLarge}, schema: schemaAccepts},
		{name: "message over MaxMessageBytes", lim: small(func(l *Limits) { l.MaxMessageBytes = 100 }), want: []error{ErrTooLarge}, where: "100", schema: schemaAccepts},
		{name: "giant message, default limit", raw: append([]byte(`{"recipient":"`), bytes.Repeat([]byte("a"), 4<<20)...), want: []error{ErrTooLarge}},
		// Enums.
		{name: "unknown objective type", mut: []mutation{set("ProposeLedgerUpdate", p(obj0, "type")...)}, want: []error{ErrUnsupported}, where: "ProposeLedgerUpdate", schema: schemaRejects},
		{name: "unknown request type", mut: []mutation{set("GetState", p(req0, "type")...)}, want: []error{ErrUnsupported}, where: "GetState", schema: schemaRejects},
		{name: "unknown funding strategy", mut: []mutation{set("Magic", p(objData, "fundingStrategy")...)}, want: []error{ErrUnsupported}, schema: schemaRejects},
		{name: "unknown role", mut: []mutation{set("boss", p(objData, "role")...)}, want: []error{ErrUnsupported}, schema: schemaRejects},
		// Structure and semantics.
		{name: "outcome mixes allocation and guarantee", mut: []mutation{func(root map[string]any) {
			g := at(guaranteeBase(t), alloc0...)
			at(root, ss0...).(map[string]any)["outcome"] = []any{at(root, alloc0...), g}
		}}, want: []error{ErrMalformed}, where: "message.data.signedStates[0].outcome[1]: outcome mixes allocations (message.data.signedStates[0].outcome[0]) and guarantees (message.data.signedStates[0].outcome[1])", schema: schemaRejects},
		{name: "allocation with a guarantee's target", mut: []mutation{func(root map[string]any) {
			a := at(root, alloc0...).(map[string]any)
			a["targetChannelId"] = fmtBytes32(b32("target"))
		}}, want: []error{ErrUnknownField}, where: "message.data.signedStates[0].outcome[0].targetChannelId: not allowed in an allocation", schema: schemaRejects},
		{name: "channel id mismatch", mut: []mutation{set(fmtBytes32(b32("other")), p(ss0, "channelId")...)}, want: []error{ErrChannelIDMismatch}, where: "channelId", schema: schemaAccepts},
		{name: "channel id of another nonce", mut: []mutation{set(json.Number("8"), p(ss0, "channelNonce")...)}, want: []error{ErrChannelIDMismatch}, schema: schemaAccepts},
		// Invalid UTF-8 (JSON text is UTF-8; encoding/json and the schema
		// validator would turn each bad byte into U+FFFD).
		{name: "walletVersion invalid UTF-8", raw: withRaw(t, "\xff", set(rawMarker, "data", "walletVersion")), want: []error{ErrMalformed}, where: "message.data.walletVersion: string is not valid UTF-8", schema: schemaAccepts},
		{name: "recipient invalid UTF-8", raw: withRaw(t, "bob\xc3", set(rawMarker, "recipient")), want: []error{ErrMalformed}, where: "message.recipient", schema: schemaAccepts},
		{name: "sender overlong encoding", raw: withRaw(t, "\xc0\xaf", set(rawMarker, "sender")), want: []error{ErrMalformed}, where: "message.sender", schema: schemaAccepts},
		{name: "participantId encoded surrogate", raw: withRaw(t, "a\xed\xa0\x80", set(rawMarker, p(part0, "participantId")...)), want: []error{ErrMalformed}, where: "participants[0].participantId", schema: schemaAccepts},
		{name: "participantId truncated after escapes", raw: withRaw(t, `\u00e9\n`+"\xe2\x82", set(rawMarker, p(part0, "participantId")...)), want: []error{ErrMalformed}, where: "participants[0].participantId", schema: schemaAccepts},
		{name: "objective participantId invalid UTF-8", raw: withRaw(t, "\x80", set(rawMarker, p(obj0, "participants", 1, "participantId")...)), want: []error{ErrMalformed}, where: "objectives[0].participants[1].participantId", schema: schemaAccepts},
		{name: "objective type invalid UTF-8", raw: withRaw(t, "OpenChannel\xff", set(rawMarker, p(obj0, "type")...)), want: []error{ErrMalformed}, where: "objectives[0].type", schema: schemaRejects},
		{name: "fundingStrategy invalid UTF-8", raw: withRaw(t, "Direct\xf5\x80\x80\x80", set(rawMarker, p(objData, "fundingStrategy")...)), want: []error{ErrMalformed}, where: "data.fundingStrategy", schema: schemaRejects},
		{name: "request type invalid UTF-8", raw: withRaw(t, "\xfe", set(rawMarker, p(req0, "type")...)), want: []error{ErrMalformed}, where: "requests[0].type", schema: schemaRejects},
		{name: "appData invalid UTF-8", raw: withRaw(t, "0x\xff", set(rawMarker, p(ss0, "appData")...)), want: []error{ErrMalformed}, where: "signedStates[0].appData", schema: schemaRejects},
		{name: "object key invalid UTF-8", raw: withRaw(t, "wallet\xffVersion", set("v", "data", rawMarker)), want: []error{ErrMalformed}, where: "message.data", schema: schemaRejects},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			raw := r.raw
			if raw == nil {
				base := badBase
				if r.base != nil {
					base = r.base
				}
				tree := base(t)
				for _, m := range r.mut {
					m(tree)
				}
				var err error
				if raw, err = json.Marshal(tree); err != nil {
					t.Fatal(err)
				}
			}
			lim := DefaultLimits()
			if r.lim != nil {
				lim = *r.lim
			}
			_, err := DecodeMessage(raw, lim)
			if err == nil {
				t.Fatalf("accepted:\n%.2000s", raw)
			}
			if !errors.Is(err, ErrInvalidMessage) {
				t.Errorf("%v does not match ErrInvalidMessage", err)
			}
			for _, w := range r.want {
				if !errors.Is(err, w) {
					t.Errorf("got %v, want errors.Is %v", err, w)
				}
			}
			if r.where != "" && !strings.Contains(err.Error(), r.where) {
				t.Errorf("error %q does not mention %q", err, r.where)
			}
			// DecodePayload gives the same verdict on the data alone.
			if strings.Contains(err.Error(), "message.data") {
				var msg struct{ Data json.RawMessage }
				if err := json.Unmarshal(raw, &msg); err != nil {
					t.Fatal(err)
				}
				if _, perr := DecodePayload(msg.Data, lim); !errors.Is(perr, r.want[0]) {
					t.Errorf("DecodePayload: got %v, want %v", perr, r.want[0])
				}
			}
			if r.schema != notJSON {
				serr := schemaCheck(t, raw)
				if errors.Is(serr, errNotJSON) {
					t.Fatalf("schema check: %v", serr)
				}
				if got := serr != nil; got != (r.schema == schemaRejects) {
					t.Errorf("schema rejects = %v, table says %v (%v)", got, r.schema == schemaRejects, serr)
				}
			}
		})
	}
	// Every row's base is valid, so each row fails for its own reason.
	for _, base := range []func(*testing.T) map[string]any{badBase, guaranteeBase} {
		b, err := json.Marshal(base(t))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := DecodeMessage(b, DefaultLimits()); err != nil {
			t.Fatalf("base message rejected: %v", err)
		}
		mustSchemaValid(t, b)
	}
}

// TestDecodeAccepts covers inputs that look odd but are valid.
func TestDecodeAccepts(t *testing.T) {
	base := badBase(t)
	id := at(base, p(ss0, "channelId")...)
	cases := []struct {
		name  string
		mut   mutation
		check func(t *testing.T, m core.Message)
	}{
		{"decimal chainId", set("1337", p(ss0, "chainId")...), func(t *testing.T, m core.Message) {
			if m.Payload.SignedStates[0].State.ChainID.Int64() != 1337 {
				t.Fatal(m.Payload.SignedStates[0].State.ChainID)
			}
		}},
		{"odd-length hex chainId", set("0x539", p(ss0, "chainId")...), nil},
		{"20-byte lowercase participant destination", set(strings.ToLower("0x"+at(base, p(part0, "destination")...).(string)[26:]), p(part0, "destination")...), nil},
		{"lowercase addresses", set(strings.ToLower(at(base, p(part0, "signingAddress")...).(string)), p(part0, "signingAddress")...), nil},
		{"integral float turnNum", set(json.Number("2.0"), p(ss0, "turnNum")...), func(t *testing.T, m core.Message) {
			if m.Payload.SignedStates[0].State.TurnNum != 2 {
				t.Fatal(m.Payload.SignedStates[0].State.TurnNum)
			}
		}},
		{"exponent turnNum", set(json.Number("2e0"), p(ss0, "turnNum")...), nil},
		{"max uint48 turnNum", set(json.Number("281474976710655"), p(ss0, "turnNum")...), nil},
		{"signature v=0 is normalised", set(hexN(128, '1')+"00", p(ss0, "signatures", 0)...), func(t *testing.T, m core.Message) {
			if v := m.Payload.SignedStates[0].Signatures[0].V; v != 27 {
				t.Fatal(v)
			}
		}},
		{"empty appData", set("0x", p(ss0, "appData")...), nil},
		{"objective without participants", del(p(obj0, "participants")...), nil},
		{"no sender", del("sender"), nil},
		{"uppercase hex channelId", set("0x"+strings.ToUpper(id.(string)[2:]), p(ss0, "channelId")...), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tree := badBase(t)
			c.mut(tree)
			raw, err := json.Marshal(tree)
			if err != nil {
				t.Fatal(err)
			}
			m, err := DecodeMessage(raw, DefaultLimits())
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if err := schemaCheck(t, raw); err != nil {
				t.Fatalf("schema rejects: %v", err)
			}
			if c.check != nil {
				c.check(t, m)
			}
		})
	}
}

// TestSentinels checks that the sentinels are distinct and share a parent.
func TestSentinels(t *testing.T) {
	for i, a := range sentinels {
		if !errors.Is(a, ErrInvalidMessage) {
			t.Errorf("%v is not an ErrInvalidMessage", a)
		}
		for j, b := range sentinels {
			if i != j && errors.Is(a, b) {
				t.Errorf("%v matches %v", a, b)
			}
		}
	}
	if errors.Is(ErrInvalidMessage, ErrMalformed) {
		t.Error("the parent matches a child")
	}
}
