package storecodec

// The encoding of effects (the outbox table; see codec.go).

import (
	"fmt"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Effect kinds as stored in outbox.kind.
const (
	KindSignState = "SignState"
	KindSend      = "Send"
	KindDeposit   = "Deposit"
	KindConclude  = "Conclude"
	KindWatch     = "Watch"
	KindChallenge = "SubmitChallenge"
	KindCheckpt   = "SubmitCheckpoint"
	KindPush      = "PushOutcome"
)

// proof appends a support proof.
func (e *encoder) proof(p *core.SupportProof) {
	e.count(len(p.States), p.States == nil)
	for i := range p.States {
		e.state(&p.States[i], nil)
	}
	e.sigs(p.Signatures)
	e.bytes(p.WhoSignedWhat)
}

// proof reads what encoder.proof wrote.
func (d *decoder) proof() core.SupportProof {
	return core.SupportProof{States: list(d, 8, func() nitro.State { return d.state(nil) }), Signatures: d.sigs(), WhoSignedWhat: d.bytes()}
}

// AppendEffect appends the encoding of an effect to b and returns its kind.
// Only the core's concrete effect types (as values) are accepted.
func AppendEffect(b []byte, eff core.Effect) (string, []byte, error) {
	e := encoder{b: b}
	e.byte(codecFormat)
	switch v := eff.(type) {
	case core.SignState:
		e.word(v.ChannelID)
		e.state(&v.State, nil)
		e.word(v.Hash)
		return KindSignState, e.b, nil
	case core.Send:
		e.word(v.ChannelID)
		m := &v.Message
		e.str(m.Recipient)
		e.str(m.Sender)
		p := &m.Payload
		e.str(p.WalletVersion)
		e.signedStates(p.SignedStates, nil)
		e.count(len(p.Objectives), p.Objectives == nil)
		for i := range p.Objectives {
			o := &p.Objectives[i]
			e.str(o.Type)
			e.participants(o.Participants)
			e.word(o.TargetChannelID)
			e.str(o.FundingStrategy)
			e.str(o.Role)
			e.str(o.FundingLedgerChannelID)
			e.word(o.JointChannelID)
			e.word(o.LedgerID)
			e.word(o.GuarantorID)
		}
		e.count(len(p.Requests), p.Requests == nil)
		for i := range p.Requests {
			e.str(p.Requests[i].Type)
			e.word(p.Requests[i].ChannelID)
		}
		return KindSend, e.b, nil
	case core.Deposit:
		e.word(v.ChannelID)
		e.addr(v.Asset)
		e.varint(int64(v.Item))
		e.bigInt(v.ExpectedHeld)
		e.bigInt(v.Amount)
		return KindDeposit, e.b, nil
	case core.Conclude:
		e.word(v.ChannelID)
		e.state(&v.State, nil)
		e.sigs(v.Signatures)
		return KindConclude, e.b, nil
	case core.Watch:
		e.word(v.ChannelID)
		e.addrs(v.Assets)
		return KindWatch, e.b, nil
	case core.SubmitChallenge:
		e.word(v.ChannelID)
		e.proof(&v.Proof)
		return KindChallenge, e.b, nil
	case core.SubmitCheckpoint:
		e.word(v.ChannelID)
		e.proof(&v.Proof)
		return KindCheckpt, e.b, nil
	case core.PushOutcome:
		e.word(v.ChannelID)
		e.state(&v.Challenged, nil)
		e.uvarint(v.TurnNumRecord)
		e.uvarint(v.FinalizesAt)
		e.addr(v.Challenger)
		return KindPush, e.b, nil
	}
	return "", b, fmt.Errorf("store codec: cannot store effect of type %T", eff)
}

// DecodeEffect turns a stored effect back into its exact concrete type.
func DecodeEffect(kind string, data []byte) (core.Effect, error) {
	d := decoder{b: data}
	d.start()
	var e core.Effect
	switch kind {
	case KindSignState:
		e = core.SignState{ChannelID: d.word(), State: d.state(nil), Hash: d.word()}
	case KindSend:
		v := core.Send{ChannelID: d.word()}
		m := &v.Message
		m.Recipient, m.Sender = d.str(), d.str()
		p := &m.Payload
		p.WalletVersion = d.str()
		p.SignedStates = d.signedStates(nil)
		p.Objectives = list(&d, 133, func() core.Objective {
			return core.Objective{
				Type: d.str(), Participants: d.participants(), TargetChannelID: d.word(),
				FundingStrategy: d.str(), Role: d.str(), FundingLedgerChannelID: d.str(),
				JointChannelID: d.word(), LedgerID: d.word(), GuarantorID: d.word(),
			}
		})
		p.Requests = list(&d, 33, func() core.Request { return core.Request{Type: d.str(), ChannelID: d.word()} })
		e = v
	case KindDeposit:
		e = core.Deposit{ChannelID: d.word(), Asset: d.addr(), Item: d.int(), ExpectedHeld: d.bigInt(), Amount: d.bigInt()}
	case KindConclude:
		e = core.Conclude{ChannelID: d.word(), State: d.state(nil), Signatures: d.sigs()}
	case KindWatch:
		e = core.Watch{ChannelID: d.word(), Assets: d.addrs()}
	case KindChallenge:
		e = core.SubmitChallenge{ChannelID: d.word(), Proof: d.proof()}
	case KindCheckpt:
		e = core.SubmitCheckpoint{ChannelID: d.word(), Proof: d.proof()}
	case KindPush:
		e = core.PushOutcome{ChannelID: d.word(), Challenged: d.state(nil), TurnNumRecord: d.uvarint(), FinalizesAt: d.uvarint(), Challenger: d.addr()}
	default:
		return nil, fmt.Errorf("store codec: unknown effect kind %q", kind)
	}
	if err := d.finish(); err != nil {
		return nil, fmt.Errorf("store codec: decode %s effect: %w", kind, err)
	}
	return e, nil
}
