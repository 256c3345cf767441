package main

import (
	"fmt"
	"strings"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/core/wire"
)

// demoMessage is a wire message as the story shows it: the founding
// document's name for it and a one-line summary.
type demoMessage struct {
	app.Message
	name    string
	summary string
}

// describe names a message as the founding document does (msgN for one
// whose newest state has turn N, isFinalA or isFinalB for a final state
// from A or B) and sums it up on one line: sender → recipient, then per
// channel its turns with their signers, then the objectives.
func describe(m app.Message) demoMessage {
	d := demoMessage{Message: m, name: "message"}
	msg, err := wire.DecodeMessage(m.Data, wire.DefaultLimits())
	if err != nil {
		d.summary = fmt.Sprintf("%s → %s, undecodable: %v", m.Sender, m.Recipient, err)
		return d
	}
	parts := []string{fmt.Sprintf("%s → %s", m.Sender, m.Recipient)}
	var last *core.SignedState
	var channel nitro.Bytes32
	for i := range msg.Payload.SignedStates {
		ss := &msg.Payload.SignedStates[i]
		id, err := ss.State.ChannelID()
		if err != nil {
			continue
		}
		if id != channel {
			parts = append(parts, short(id))
			channel = id
		}
		turn := fmt.Sprintf("turn %d", ss.State.TurnNum)
		if ss.State.IsFinal {
			turn += " final"
		}
		parts = append(parts, turn+" signed by "+signers(*ss))
		if last == nil || ss.State.TurnNum >= last.State.TurnNum {
			last = ss
		}
	}
	if len(msg.Payload.Objectives) > 0 {
		var types []string
		for _, o := range msg.Payload.Objectives {
			types = append(types, o.Type)
		}
		parts = append(parts, "objectives "+strings.Join(types, ", "))
	}
	if n := len(msg.Payload.Requests); n > 0 {
		parts = append(parts, fmt.Sprintf("%d requests", n))
	}
	d.summary = strings.Join(parts, ", ")
	switch {
	case last != nil && last.State.IsFinal:
		d.name = "isFinal" + m.Sender
	case last != nil:
		d.name = fmt.Sprintf("msg%d", last.State.TurnNum)
	}
	return d
}

// signers names the participants whose signatures a signed state carries,
// recovered from the signatures.
func signers(ss core.SignedState) string {
	h, err := ss.State.Hash()
	if err != nil {
		return "?"
	}
	var names []string
	for _, sig := range ss.Signatures {
		a, err := nitro.RecoverSigner(h, sig)
		name := "?"
		for _, p := range ss.Participants {
			if err == nil && p.SigningAddress == a {
				name = p.ParticipantID
			}
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return "nobody"
	}
	return strings.Join(names, ", ")
}

// names lists messages' names as the document writes an outbox: [msg0].
func names(ms []demoMessage) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.name)
	}
	return "[" + strings.Join(out, ", ") + "]"
}
