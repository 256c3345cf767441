package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"testing"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

type rtCase struct {
	name string
	msg  core.Message
}

// roundTripCases are valid messages covering 2 to 5 participants, several
// assets, guarantees, final states, every objective type and requests.
func roundTripCases() []rtCase {
	two := participants("alice", "bob")
	three := participants("alice", "bob", "carol")
	five := participants("p0", "p1", "p2", "p3", "p4")
	ethHolder, tokenHolder, daiHolder := addr("eth-holder"), addr("token-holder"), addr("dai-holder")
	max256 := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
	appData := make([]byte, 200)
	for i := range appData {
		appData[i] = byte(i * 7)
	}

	prefund := signedState(two, nitro.State{
		ChainID: big.NewInt(1337), ChannelNonce: 1, AppDefinition: nitro.Address{}, ChallengeDuration: 9001,
		AppData: []byte{0}, TurnNum: 0,
		Outcome: nitro.Outcome{{AssetHolder: ethHolder, Allocation: []nitro.AllocationItem{
			{Destination: two[0].Destination, Amount: big.NewInt(5)},
			{Destination: two[1].Destination, Amount: big.NewInt(3)},
		}}},
	}, sig("a0", 27))

	multiAsset := signedState(three, nitro.State{
		ChainID: big.NewInt(1), ChannelNonce: 42, AppDefinition: addr("app"), ChallengeDuration: 86400,
		AppData: appData, TurnNum: 7,
		Outcome: nitro.Outcome{
			{AssetHolder: ethHolder, Allocation: []nitro.AllocationItem{
				{Destination: three[0].Destination, Amount: amount("1000000000000000000")},
				{Destination: three[1].Destination, Amount: big.NewInt(0)},
				{Destination: three[2].Destination, Amount: amount("0x123456789abcdef0123456789")},
			}},
			{AssetHolder: tokenHolder, Allocation: []nitro.AllocationItem{
				{Destination: three[2].Destination, Amount: max256},
			}},
			{AssetHolder: daiHolder, Allocation: nil},
		},
	}, sig("m0", 27), sig("m1", 28), sig("m2", 27))

	ledger := b32("ledger")
	guarantee := signedState(five, nitro.State{
		ChainID: new(big.Int).Lsh(big.NewInt(1), 255), ChannelNonce: nitro.MaxUint48, AppDefinition: addr("guarantor-app"),
		ChallengeDuration: nitro.MaxUint48, TurnNum: nitro.MaxUint48, IsFinal: true,
		Outcome: nitro.Outcome{
			{AssetHolder: ethHolder, Guarantee: &nitro.Guarantee{TargetChannelID: b32("target"), Destinations: []nitro.Bytes32{
				five[4].Destination, five[0].Destination, b32("a channel as destination"),
			}}},
			{AssetHolder: tokenHolder, Guarantee: &nitro.Guarantee{TargetChannelID: b32("target2")}},
		},
	}, sig("g", 28))

	final := signedState(two, nitro.State{
		ChainID: big.NewInt(0), ChannelNonce: 2, AppDefinition: addr("app"), ChallengeDuration: 1,
		TurnNum: 4, IsFinal: true,
		Outcome: nitro.Outcome{{AssetHolder: ethHolder, Allocation: []nitro.AllocationItem{
			{Destination: b32("channel destination"), Amount: big.NewInt(8)},
		}}},
	}, sig("f0", 27), sig("f1", 28))
	// A participant whose destination is a channel id, not an address.
	four := participants("w", "x", "y", "z")
	four[3].Destination = b32("z's ledger")
	fourState := signedState(four, nitro.State{
		ChainID: big.NewInt(31337), ChannelNonce: 1 << 40, AppDefinition: addr("app4"), ChallengeDuration: 60,
		TurnNum: 3, Outcome: nil,
	})

	return []rtCase{
		{"two-party prefund with OpenChannel", core.Message{Recipient: "bob", Sender: "alice", Payload: core.Payload{
			WalletVersion: "@statechannels/server-wallet@1.13.1",
			SignedStates:  []core.SignedState{prefund},
			Objectives: []core.Objective{{Type: core.ObjectiveOpenChannel, TargetChannelID: b32("open"),
				FundingStrategy: core.FundingDirect, Role: "app"}},
		}}},
		{"three parties, three assets, close and requests", core.Message{Recipient: "carol", Sender: "alice", Payload: core.Payload{
			SignedStates: []core.SignedState{multiAsset},
			Objectives: []core.Objective{{Type: core.ObjectiveCloseChannel, Participants: three,
				TargetChannelID: b32("close"), FundingStrategy: core.FundingLedger}},
			Requests: []core.Request{{Type: core.RequestGetChannel, ChannelID: b32("want")}, {Type: core.RequestGetChannel, ChannelID: b32("want2")}},
		}}},
		{"five parties, guarantees, final, every objective", core.Message{Recipient: "p1", Payload: core.Payload{
			WalletVersion: "other-wallet/2",
			SignedStates:  []core.SignedState{guarantee},
			Objectives: []core.Objective{
				{Type: core.ObjectiveOpenChannel, Participants: five, TargetChannelID: b32("o"), FundingStrategy: core.FundingLedger,
					Role: "ledger", FundingLedgerChannelID: fmtBytes32(ledger)},
				{Type: core.ObjectiveOpenChannel, TargetChannelID: b32("o2"), FundingStrategy: core.FundingVirtual,
					FundingLedgerChannelID: "0x" + "aB" + "0123456789abcdef0123456789abcdef012345"},
				{Type: core.ObjectiveOpenChannel, TargetChannelID: b32("o3"), FundingStrategy: core.FundingFake},
				{Type: core.ObjectiveCloseChannel, TargetChannelID: b32("c"), FundingStrategy: core.FundingUnknown},
				{Type: core.ObjectiveVirtuallyFund, Participants: five[:3], TargetChannelID: b32("v"), JointChannelID: b32("j")},
				{Type: core.ObjectiveFundGuarantor, JointChannelID: b32("j"), LedgerID: ledger, GuarantorID: b32("g")},
				{Type: core.ObjectiveFundLedger, LedgerID: ledger},
				{Type: core.ObjectiveCloseLedger, Participants: five[3:], LedgerID: ledger},
			},
		}}},
		{"several states and channels", core.Message{Recipient: "x", Sender: "w", Payload: core.Payload{
			SignedStates: []core.SignedState{fourState, final, prefund, multiAsset},
		}}},
		{"requests only", core.Message{Recipient: "r", Sender: "s", Payload: core.Payload{
			Requests: []core.Request{{Type: core.RequestGetChannel, ChannelID: b32("only")}},
		}}},
		{"empty payload", core.Message{Recipient: "", Payload: core.Payload{WalletVersion: "v"}}},
		{"unicode and escapes in names", core.Message{Recipient: "bób <&>\"\\\n", Sender: "ℵ\u2028", Payload: core.Payload{
			SignedStates: []core.SignedState{signedState([]core.Participant{
				{ParticipantID: "π", SigningAddress: addr("π"), Destination: nitro.AddressToDestination(addr("π"))},
				{ParticipantID: "", SigningAddress: addr("empty"), Destination: nitro.AddressToDestination(addr("empty"))},
			}, nitro.State{ChainID: big.NewInt(5), ChannelNonce: 0, TurnNum: 1})},
		}}},
	}
}

// encodedCorpus returns the encodings of every round-trip case.
func encodedCorpus(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, c := range roundTripCases() {
		b, err := EncodeMessage(c.msg)
		if err != nil {
			tb.Fatalf("%s: encode: %v", c.name, err)
		}
		out = append(out, b)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	for _, c := range roundTripCases() {
		t.Run(c.name, func(t *testing.T) {
			b, err := EncodeMessage(c.msg)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			got, err := DecodeMessage(b, DefaultLimits())
			if err != nil {
				t.Fatalf("decode: %v\n%s", err, b)
			}
			want := c.msg
			if want.Payload.WalletVersion == "" {
				want.Payload.WalletVersion = WalletVersion
			}
			if d := diff(want, got); d != "" {
				t.Fatalf("round trip differs at %s\n%s", d, b)
			}
			// The payload alone decodes to the same thing.
			var raw struct{ Data json.RawMessage }
			if err := json.Unmarshal(b, &raw); err != nil {
				t.Fatal(err)
			}
			p, err := DecodePayload(raw.Data, DefaultLimits())
			if err != nil {
				t.Fatalf("DecodePayload: %v", err)
			}
			if d := diff(want.Payload, p); d != "" {
				t.Fatalf("DecodePayload differs at %s", d)
			}
			// Encoding is deterministic and a fixed point.
			b2, err := EncodeMessage(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, b2) {
				t.Fatalf("re-encoding differs:\n%s\n%s", b, b2)
			}
		})
	}
}

// TestEncodedShape checks the details of the emitted JSON that a round trip
// cannot see: key order, checksums, padding and omitted fields.
func TestEncodedShape(t *testing.T) {
	cases := roundTripCases()
	b, err := EncodeMessage(cases[0].msg)
	if err != nil {
		t.Fatal(err)
	}
	id := channelID(t, cases[0].msg.Payload.SignedStates[0])
	p := cases[0].msg.Payload.SignedStates[0].Participants
	want := `{"recipient":"bob","sender":"alice","data":{"walletVersion":"@statechannels/server-wallet@1.13.1",` +
		`"signedStates":[{"chainId":"0x0539","participants":[` +
		`{"participantId":"alice","signingAddress":"` + p[0].SigningAddress.Hex() + `","destination":"0x000000000000000000000000` + nitro.DestinationToAddress(p[0].Destination).Hex()[2:] + `"},` +
		`{"participantId":"bob","signingAddress":"` + p[1].SigningAddress.Hex() + `","destination":"0x000000000000000000000000` + nitro.DestinationToAddress(p[1].Destination).Hex()[2:] + `"}],` +
		`"channelNonce":1,"appDefinition":"0x0000000000000000000000000000000000000000","challengeDuration":9001,"turnNum":0,"appData":"0x00","isFinal":false,` +
		`"outcome":[{"assetHolderAddress":"` + addr("eth-holder").Hex() + `","allocationItems":[` +
		`{"destination":"0x000000000000000000000000` + nitro.DestinationToAddress(p[0].Destination).Hex()[2:] + `","amount":"0x0000000000000000000000000000000000000000000000000000000000000005"},` +
		`{"destination":"0x000000000000000000000000` + nitro.DestinationToAddress(p[1].Destination).Hex()[2:] + `","amount":"0x0000000000000000000000000000000000000000000000000000000000000003"}]}],` +
		`"channelId":"` + fmtBytes32(id) + `","signatures":["0x` + hexOf(sig("a0", 27).Bytes()) + `"]}],` +
		`"objectives":[{"type":"OpenChannel","participants":[],"data":{"targetChannelId":"` + fmtBytes32(b32("open")) + `","fundingStrategy":"Direct","role":"app"}}]}}`
	if string(b) != want {
		t.Fatalf("encoding differs\n got %s\nwant %s", b, want)
	}
	// The empty payload omits the arrays and the empty sender, and uses our version.
	b, err = EncodeMessage(core.Message{Recipient: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"recipient":"r","data":{"walletVersion":"`+WalletVersion+`"}}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	// chainId is even-length hex like ethers' toHexString.
	for _, c := range []struct {
		in   int64
		want string
	}{{0, "0x00"}, {1, "0x01"}, {1337, "0x0539"}, {31337, "0x7a69"}, {9001, "0x2329"}} {
		if got := fmtChainID(big.NewInt(c.in)); got != c.want {
			t.Errorf("fmtChainID(%d) = %s, want %s", c.in, got, c.want)
		}
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}

// TestEncodedMessagesMatchSchema validates every message EncodeMessage emits
// in these tests against the published Message schema.
func TestEncodedMessagesMatchSchema(t *testing.T) {
	corpus := encodedCorpus(t)
	if len(corpus) == 0 {
		t.Fatal("empty corpus")
	}
	for i, b := range corpus {
		if err := schemaCheck(t, b); err != nil {
			t.Errorf("case %d fails the schema: %v\n%s", i, err, b)
		}
	}
	// The schema check itself must be able to fail.
	if err := schemaCheck(t, []byte(`{"recipient":"r","data":{"walletVersion":"v","x":1}}`)); err == nil {
		t.Fatal("schema accepted an unknown field")
	}
}

func TestEncodeErrors(t *testing.T) {
	base := roundTripCases()[0].msg
	ss := base.Payload.SignedStates[0]
	withState := func(f func(*core.SignedState)) core.Message {
		m := base
		s := ss
		s.State = ss.State.Clone()
		s.Participants = append([]core.Participant(nil), ss.Participants...)
		f(&s)
		m.Payload.SignedStates = []core.SignedState{s}
		return m
	}
	withObjective := func(o core.Objective) core.Message {
		m := base
		m.Payload.Objectives = []core.Objective{o}
		return m
	}
	cases := []struct {
		name string
		msg  core.Message
		want error
	}{
		{"nil chain id", withState(func(s *core.SignedState) { s.State.ChainID = nil }), ErrOutOfRange},
		{"negative chain id", withState(func(s *core.SignedState) { s.State.ChainID = big.NewInt(-1) }), ErrOutOfRange},
		{"turnNum over uint48", withState(func(s *core.SignedState) { s.State.TurnNum = nitro.MaxUint48 + 1 }), ErrOutOfRange},
		{"nonce over uint48", withState(func(s *core.SignedState) { s.State.ChannelNonce = 1 << 48 }), ErrOutOfRange},
		{"negative amount", withState(func(s *core.SignedState) { s.State.Outcome[0].Allocation[0].Amount = big.NewInt(-1) }), ErrOutOfRange},
		{"nil amount", withState(func(s *core.SignedState) { s.State.Outcome[0].Allocation[0].Amount = nil }), ErrOutOfRange},
		{"participants disagree", withState(func(s *core.SignedState) { s.State.Participants[1] = addr("mallory") }), ErrMalformed},
		{"participant count disagrees", withState(func(s *core.SignedState) { s.State.Participants = s.State.Participants[:1] }), ErrMalformed},
		{"mixed outcome", withState(func(s *core.SignedState) {
			s.State.Outcome = append(s.State.Outcome, nitro.AssetOutcome{Guarantee: &nitro.Guarantee{}})
		}), ErrMalformed},
		{"unknown objective", withObjective(core.Objective{Type: "ProposeLedgerUpdate"}), ErrUnsupported},
		{"unknown strategy", withObjective(core.Objective{Type: core.ObjectiveOpenChannel, FundingStrategy: "Magic"}), ErrUnsupported},
		{"empty strategy", withObjective(core.Objective{Type: core.ObjectiveCloseChannel}), ErrMissingField},
		{"unknown role", withObjective(core.Objective{Type: core.ObjectiveOpenChannel, FundingStrategy: "Direct", Role: "boss"}), ErrUnsupported},
		{"bad ledger ref", withObjective(core.Objective{Type: core.ObjectiveOpenChannel, FundingStrategy: "Ledger", FundingLedgerChannelID: "0x12"}), ErrBadHex},
		{"256 participants", withState(func(s *core.SignedState) {
			s.Participants = participants(make([]string, 256)...)
			s.State.Participants = nil
			for _, p := range s.Participants {
				s.State.Participants = append(s.State.Participants, p.SigningAddress)
			}
		}), ErrTooLarge},
		{"unknown request", func() core.Message {
			m := base
			m.Payload.Requests = []core.Request{{Type: "GetState"}}
			return m
		}(), ErrUnsupported},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := EncodeMessage(c.msg)
			if !errors.Is(err, c.want) || !errors.Is(err, ErrInvalidMessage) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	// The base itself encodes, so each row fails for its own reason.
	if _, err := EncodeMessage(withState(func(*core.SignedState) {})); err != nil {
		t.Fatal(err)
	}
}
