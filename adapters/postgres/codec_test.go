package postgres

import (
	"errors"
	"math/big"
	"reflect"
	"slices"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports/storetest"
)

// TestCodecRoundTrip encodes every channel and effect of the store suite's
// corpus and decodes it back exactly (storetest.Diff), and also checks what
// Diff does not: nil and empty slices and maps stay apart.
func TestCodecRoundTrip(t *testing.T) {
	for _, snap := range storetest.Corpus() {
		data := appendChannel(nil, &snap.Channel)
		got, err := decodeChannel(data)
		if err != nil {
			t.Fatalf("%s: %v", snap.Stage, err)
		}
		if d := storetest.Diff(snap.Channel, got); d != "" {
			t.Fatalf("%s: channel differs: %s", snap.Stage, d)
		}
		if d := exactDiff(reflect.ValueOf(snap.Channel), reflect.ValueOf(got)); d != "" {
			t.Fatalf("%s: channel differs in nil-ness: %s", snap.Stage, d)
		}
		if again := appendChannel(nil, &got); !slices.Equal(data, again) {
			t.Fatalf("%s: encoding the decoded channel gives other bytes", snap.Stage)
		}
		for i := range snap.Channel.States {
			st := &snap.Channel.States[i].State
			back, err := decodeState(appendState(nil, st))
			if err != nil {
				t.Fatal(err)
			}
			if d := exactDiff(reflect.ValueOf(*st), reflect.ValueOf(back)); d != "" {
				t.Fatalf("%s: state %d differs: %s", snap.Stage, i, d)
			}
		}
		for i, e := range snap.Effects {
			kind, data, err := appendEffect(nil, e)
			if err != nil {
				t.Fatal(err)
			}
			back, err := decodeEffect(kind, data)
			if err != nil {
				t.Fatalf("%s: effect %d: %v", snap.Stage, i, err)
			}
			if reflect.TypeOf(back) != reflect.TypeOf(e) {
				t.Fatalf("%s: effect %d is %T, want %T", snap.Stage, i, back, e)
			}
			if d := exactDiff(reflect.ValueOf(e), reflect.ValueOf(back)); d != "" {
				t.Fatalf("%s: effect %d (%T) differs: %s", snap.Stage, i, e, d)
			}
		}
	}
}

// TestCodecExtremes covers integers and shapes the corpus does not.
func TestCodecExtremes(t *testing.T) {
	c := core.Channel{ID: nitro.Bytes32{1}, MyLastTurn: -1 << 63, Now: 1<<63 - 1, MyIndex: -3}
	for _, x := range []*big.Int{
		nil, new(big.Int), big.NewInt(-1), big.NewInt(-1 << 63), new(big.Int).Lsh(big.NewInt(1), 64),
		new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), 200)), new(big.Int).SetUint64(1<<64 - 1),
	} {
		c.Funding = append(c.Funding, core.AssetFunding{Holdings: x, Payouts: []*big.Int{x, nil}, Deposits: map[int]core.TxStatus{}})
	}
	st := nitro.State{Outcome: nitro.Outcome{}, AppData: []byte{}, Participants: []nitro.Address{}}
	c.States = []core.StoredState{{State: st, Sigs: []nitro.Signature{}}, {State: nitro.State{TurnNum: 1}, Sigs: []nitro.Signature{{V: 0, R: nitro.Bytes32{1}}}}}
	c.Held = []core.SignedState{}
	got, err := decodeChannel(appendChannel(nil, &c))
	if err != nil {
		t.Fatal(err)
	}
	if d := exactDiff(reflect.ValueOf(c), reflect.ValueOf(got)); d != "" {
		t.Fatalf("differs: %s", d)
	}
}

// TestCodecDispute: a channel's dispute section and the dispute effects
// round-trip exactly; a channel without one encodes as before (no trailing
// section), so rows written before disputes existed still decode.
func TestCodecDispute(t *testing.T) {
	corpus := storetest.Corpus()
	c := corpus[len(corpus)-2].Channel.Clone()
	plain := appendChannel(nil, &c)
	l, _ := c.Latest()
	proof := core.SupportProof{States: []nitro.State{l.State}, Signatures: l.Sigs, WhoSignedWhat: make([]uint8, len(l.Sigs))}
	for _, d := range []*core.Dispute{nil, {TurnNumRecord: 1<<48 - 1, FinalizesAt: 1 << 40, Challenger: nitro.Address{7}, Challenged: l.State.Clone(), Checkpoint: core.TxRetry, Push: core.TxDone, ChainTime: 1 << 35}} {
		c.Challenge, c.Dispute = core.TxRequested, d
		data := appendChannel(nil, &c)
		if !slices.Equal(data[:len(plain)], plain) || len(data) == len(plain) {
			t.Fatal("the dispute section is not a suffix of the plain encoding")
		}
		got, err := decodeChannel(data)
		if err != nil {
			t.Fatal(err)
		}
		if diff := exactDiff(reflect.ValueOf(c), reflect.ValueOf(got)); diff != "" {
			t.Fatalf("disputed channel differs: %s", diff)
		}
		for n := len(plain) + 1; n < len(data); n++ {
			if _, err := decodeChannel(data[:n]); !errors.Is(err, errCorrupt) {
				t.Fatalf("dispute section truncated to %d of %d bytes: %v", n, len(data), err)
			}
		}
	}
	// The liveness timer (core/liveness.go) ends the section when set,
	// with or without a dispute.
	for _, d := range []*core.Dispute{nil, {TurnNumRecord: 3, Challenged: l.State.Clone()}} {
		c.Challenge, c.Dispute, c.ReplyWaitSince = core.TxNone, d, 1_700_000_123
		got, err := decodeChannel(appendChannel(nil, &c))
		if err != nil {
			t.Fatal(err)
		}
		if diff := exactDiff(reflect.ValueOf(c), reflect.ValueOf(got)); diff != "" {
			t.Fatalf("channel awaiting a peer differs: %s", diff)
		}
	}
	for _, e := range []core.Effect{
		core.SubmitChallenge{ChannelID: c.ID, Proof: proof},
		core.SubmitCheckpoint{ChannelID: c.ID, Proof: proof},
		core.PushOutcome{ChannelID: c.ID, Challenged: l.State, TurnNumRecord: 9, FinalizesAt: 1 << 33, Challenger: nitro.Address{3}},
	} {
		kind, data, err := appendEffect(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeEffect(kind, data)
		if err != nil {
			t.Fatalf("%T: %v", e, err)
		}
		if reflect.TypeOf(back) != reflect.TypeOf(e) {
			t.Fatalf("%T came back as %T", e, back)
		}
		if d := exactDiff(reflect.ValueOf(e), reflect.ValueOf(back)); d != "" {
			t.Fatalf("%T differs: %s", e, d)
		}
	}
}

// TestCodecRefusesCorruptData: truncations, trailing bytes and another
// format are errors, never a silently different channel.
func TestCodecRefusesCorruptData(t *testing.T) {
	corpus := storetest.Corpus()
	c := corpus[len(corpus)-2].Channel // every field set
	data := appendChannel(nil, &c)
	for n := 0; n < len(data); n++ {
		if _, err := decodeChannel(data[:n]); !errors.Is(err, errCorrupt) {
			t.Fatalf("truncated to %d of %d bytes: %v", n, len(data), err)
		}
	}
	if _, err := decodeChannel(append(slices.Clone(data), 0)); !errors.Is(err, errCorrupt) {
		t.Fatalf("trailing byte: %v", err)
	}
	other := slices.Clone(data)
	other[0] = 1
	if _, err := decodeChannel(other); !errors.Is(err, errCorrupt) {
		t.Fatalf("format 1: %v", err)
	}
}

// TestCodecKnowsEveryField fails when a field is added to (or removed from)
// a type the codec encodes field by field: codec.go must then encode it,
// and codecFormat change.
func TestCodecKnowsEveryField(t *testing.T) {
	for _, tc := range []struct {
		v      any
		fields []string
	}{
		{core.Channel{}, []string{"ID", "Participants", "MyIndex", "FundingStrategy", "Protocol", "Setup", "Joined", "Creator", "States", "Held", "MyLastTurn", "Pending", "Funding", "Conclude", "Concluded", "CloseInitiator", "CloseRequested", "Now", "ClosedAt", "TxWaitSince", "ReplyWaitSince", "Challenge", "Dispute"}},
		{core.Dispute{}, []string{"TurnNumRecord", "FinalizesAt", "Challenger", "Challenged", "Checkpoint", "Push", "ChainTime"}},
		{core.SupportProof{}, []string{"States", "Signatures", "WhoSignedWhat"}},
		{core.SubmitChallenge{}, []string{"ChannelID", "Proof"}},
		{core.SubmitCheckpoint{}, []string{"ChannelID", "Proof"}},
		{core.PushOutcome{}, []string{"ChannelID", "Challenged", "TurnNumRecord", "FinalizesAt", "Challenger"}},
		{core.Participant{}, []string{"ParticipantID", "SigningAddress", "Destination"}},
		{core.StoredState{}, []string{"State", "Hash", "Sigs"}},
		{core.SignedState{}, []string{"State", "Participants", "Signatures"}},
		{core.Pending{}, []string{"State", "Hash"}},
		{core.AssetFunding{}, []string{"Asset", "Holdings", "Deposits", "PaidOut", "Payouts"}},
		{nitro.State{}, []string{"ChainID", "Participants", "ChannelNonce", "AppDefinition", "ChallengeDuration", "AppData", "Outcome", "TurnNum", "IsFinal"}},
		{nitro.AssetOutcome{}, []string{"AssetHolder", "Allocation", "Guarantee"}},
		{nitro.AllocationItem{}, []string{"Destination", "Amount"}},
		{nitro.Guarantee{}, []string{"TargetChannelID", "Destinations"}},
		{nitro.Signature{}, []string{"V", "R", "S"}},
		{core.SignState{}, []string{"ChannelID", "State", "Hash"}},
		{core.Send{}, []string{"ChannelID", "Message"}},
		{core.Message{}, []string{"Recipient", "Sender", "Payload"}},
		{core.Payload{}, []string{"WalletVersion", "SignedStates", "Objectives", "Requests"}},
		{core.Objective{}, []string{"Type", "Participants", "TargetChannelID", "FundingStrategy", "Role", "FundingLedgerChannelID", "JointChannelID", "LedgerID", "GuarantorID"}},
		{core.Request{}, []string{"Type", "ChannelID"}},
		{core.Deposit{}, []string{"ChannelID", "Asset", "Item", "ExpectedHeld", "Amount"}},
		{core.Conclude{}, []string{"ChannelID", "State", "Signatures"}},
		{core.Watch{}, []string{"ChannelID", "Assets"}},
	} {
		typ := reflect.TypeOf(tc.v)
		var have []string
		for i := 0; i < typ.NumField(); i++ {
			have = append(have, typ.Field(i).Name)
		}
		if !slices.Equal(have, tc.fields) {
			t.Errorf("%s has fields %v; the store's codec knows %v: update codec.go", typ, have, tc.fields)
		}
	}
}

// exactDiff is storetest.Diff that also tells nil from empty slices and
// maps.
func exactDiff(a, b reflect.Value) string {
	if a.Kind() == reflect.Slice || a.Kind() == reflect.Map {
		if a.IsNil() != b.IsNil() {
			return ": nil vs empty"
		}
	}
	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return ": nil vs non-nil"
			}
			return ""
		}
		if a.Type() == reflect.TypeOf((*big.Int)(nil)) {
			return storetest.Diff(a.Interface(), b.Interface())
		}
		return exactDiff(a.Elem(), b.Elem())
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if d := exactDiff(a.Field(i), b.Field(i)); d != "" {
				return "." + a.Type().Field(i).Name + d
			}
		}
		return ""
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return ": length"
		}
		for i := 0; i < a.Len(); i++ {
			if d := exactDiff(a.Index(i), b.Index(i)); d != "" {
				return "[]" + d
			}
		}
		return ""
	case reflect.Map:
		if a.Len() != b.Len() {
			return ": map length"
		}
		for _, k := range a.MapKeys() {
			if !b.MapIndex(k).IsValid() {
				return ": missing key"
			}
			if d := exactDiff(a.MapIndex(k), b.MapIndex(k)); d != "" {
				return "[k]" + d
			}
		}
		return ""
	}
	if a.CanInterface() && b.CanInterface() {
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			return ": values differ"
		}
		return ""
	}
	return storetest.Diff(a.Interface(), b.Interface())
}

// TestCodecKeepsProtocol: a channel's protocol profile survives the
// encoding (a flag bit), and a 0.17.0 channel encodes as before profiles
// existed (the bit clear), so the golden records stay as they were.
func TestCodecKeepsProtocol(t *testing.T) {
	for _, snap := range storetest.Corpus() {
		c := snap.Channel
		before := appendChannel(nil, &c)
		c.Protocol = nitro.Protocol0101
		data := appendChannel(nil, &c)
		if slices.Equal(before, data) {
			t.Fatalf("%s: the profile does not change the encoding", snap.Stage)
		}
		got, err := decodeChannel(data)
		if err != nil {
			t.Fatalf("%s: %v", snap.Stage, err)
		}
		if got.Protocol != nitro.Protocol0101 {
			t.Fatalf("%s: decoded profile %s, want 0.10.1", snap.Stage, got.Protocol)
		}
		if d := storetest.Diff(c, got); d != "" {
			t.Fatalf("%s: channel differs: %s", snap.Stage, d)
		}
		back, err := decodeChannel(before)
		if err != nil || back.Protocol != nitro.Protocol0170 {
			t.Fatalf("%s: a 0.17.0 channel decodes with profile %s, %v", snap.Stage, back.Protocol, err)
		}
	}
}
