package sim

import (
	"fmt"
	"strings"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/core/wire"
)

// The trace is a Mermaid sequence diagram: each wallet's application (A),
// its wallet (WalletA) and the chain, as in the founding document.

func (w *World) traceHeader() {
	w.trace = append(w.trace, "sequenceDiagram")
	for _, wal := range w.Wallets {
		w.trace = append(w.trace, "    actor "+wal.Name)
	}
	for _, wal := range w.Wallets {
		w.trace = append(w.trace, "    participant Wallet"+wal.Name)
	}
	w.trace = append(w.trace, "    participant Chain")
}

// line adds a diagram line when tracing.
func (w *World) line(format string, args ...any) {
	if w.cfg.Trace {
		w.trace = append(w.trace, "    "+fmt.Sprintf(format, args...))
	}
}

func (w *World) note(who, text string) { w.line("Note over Wallet%s: %s", who, text) }

// Diagram returns the run so far as a Mermaid sequence diagram (empty
// without Config.Trace).
func (w *World) Diagram() string {
	if len(w.trace) == 0 {
		return ""
	}
	return strings.Join(w.trace, "\n") + "\n"
}

// DiagramLines is the number of lines Diagram has.
func (w *World) DiagramLines() int { return len(w.trace) }

// traceMessage draws a message: kind is outbox (queued), deliver or drop.
func (w *World) traceMessage(kind, from, to string, data []byte) {
	if !w.cfg.Trace || kind == "outbox" {
		return
	}
	arrow := "->>"
	if kind == "drop" {
		arrow = "-x"
	}
	w.line("Wallet%s%sWallet%s: %s", from, arrow, to, w.summary(data))
}

// summary describes a wire message: per channel, the turns it carries and
// their signers, its objectives and requests.
func (w *World) summary(data []byte) string {
	m, err := wire.DecodeMessage(data, wire.DefaultLimits())
	if err != nil {
		return "undecodable message"
	}
	var parts []string
	for _, ss := range m.Payload.SignedStates {
		id, _ := ss.State.ChannelID()
		s := fmt.Sprintf("%s turn %d", w.label(id), ss.State.TurnNum)
		if ss.State.IsFinal {
			s += " final"
		}
		h, err := ss.State.Hash()
		if err == nil {
			var who []string
			for _, sig := range ss.Signatures {
				if a, err := nitro.RecoverSigner(h, sig); err == nil {
					if wal := w.byAddr[a]; wal != nil {
						who = append(who, wal.Name)
					}
				}
			}
			s += " [" + strings.Join(who, ",") + "]"
		}
		parts = append(parts, s)
	}
	for _, o := range m.Payload.Objectives {
		parts = append(parts, fmt.Sprintf("%s(%s)", o.Type, w.label(o.TargetChannelID)))
	}
	for _, r := range m.Payload.Requests {
		parts = append(parts, fmt.Sprintf("%s(%s)", r.Type, w.label(r.ChannelID)))
	}
	if len(parts) > 4 {
		parts = append(parts[:3], fmt.Sprintf("... %d more", len(parts)-3))
	}
	return strings.Join(parts, "; ")
}

func (w *World) traceEvent(wal *Wallet, ev core.ChainEvent) {
	if !w.cfg.Trace {
		return
	}
	s := fmt.Sprintf("%s %s", ev.Kind, w.label(ev.ChannelID))
	switch ev.Kind {
	case core.EventDeposited:
		s += fmt.Sprintf(" holds %v %s", ev.Holdings, w.assetName(ev.Asset))
	case core.EventAllocationUpdated:
		s += fmt.Sprintf(" paid out %s", w.assetName(ev.Asset))
	}
	w.line("Chain-->>Wallet%s: %s (block %d)", wal.Name, s, ev.Block)
}
