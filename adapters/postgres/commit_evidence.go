package postgres

// Evidence: the states and signatures a commit adds to the states and
// signatures tables, less those an earlier commit is known to have written.

import (
	"fmt"
	"math"
	"slices"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// stateKey and sigKey identify rows of the states and signatures tables
// within a channel.
type stateKey struct {
	turn uint64
	hash nitro.Bytes32
}

type sigKey struct {
	turn   uint64
	hash   nitro.Bytes32
	signer nitro.Address
}

// heldSig is a held state's signature with the signer recovered from it.
type heldSig struct {
	hash   nitro.Bytes32
	sig    nitro.Signature
	signer nitro.Address
	ok     bool // recovered, and a participant of the state
}

// evidence is what the states and signatures tables are known to hold of
// a channel's current states (a channel holds a handful, so slices are
// searched). A value is never modified once recorded.
type evidence struct {
	id     nitro.Bytes32
	states []stateKey
	sigs   []sigKey
	held   []heldSig
}

func (ev *evidence) hasState(k stateKey) bool { return ev != nil && slices.Contains(ev.states, k) }
func (ev *evidence) hasSig(k sigKey) bool     { return ev != nil && slices.Contains(ev.sigs, k) }

// prepareEvidence adds to req the states and signatures of c that the
// tables may not hold yet.
func (s *Store) prepareEvidence(req *request, c *core.Channel) error {
	s.mu.Lock()
	known := s.recorded[c.ID]
	s.mu.Unlock()
	ev := &evidence{id: c.ID, states: make([]stateKey, 0, len(c.States)+len(c.Held))}
	ev.sigs = make([]sigKey, 0, cap(ev.states)*max(len(c.Participants), 1))
	addState := func(st *nitro.State, k stateKey) error {
		if ev.hasState(k) {
			return nil
		}
		ev.states = append(ev.states, k)
		if known.hasState(k) {
			return nil
		}
		if k.turn > math.MaxInt64 {
			return fmt.Errorf("postgres store: channel %s: turn %d out of range", c.ID, k.turn)
		}
		req.states = append(req.states, stateInsert{channel: c.ID, turn: int64(k.turn), hash: k.hash, final: st.IsFinal, state: appendState(nil, st)})
		return nil
	}
	addSig := func(k sigKey, sig nitro.Signature) {
		if ev.hasSig(k) {
			return
		}
		ev.sigs = append(ev.sigs, k)
		if known.hasSig(k) {
			return
		}
		row := sigInsert{channel: c.ID, turn: int64(k.turn), hash: k.hash, signer: k.signer}
		copy(row.sig[:], sig.Bytes())
		req.sigs = append(req.sigs, row)
	}
	for i := range c.States {
		st := &c.States[i]
		k := stateKey{st.State.TurnNum, st.Hash}
		signed := false
		for j, sig := range st.Sigs {
			if sig.V == 0 || j >= len(c.Participants) {
				continue
			}
			if !signed {
				signed = true
				if err := addState(&st.State, k); err != nil {
					return err
				}
			}
			addSig(sigKey{k.turn, k.hash, c.Participants[j].SigningAddress}, sig)
		}
	}
	for i := range c.Held {
		h := &c.Held[i]
		if len(h.Signatures) == 0 {
			continue
		}
		hash, err := h.State.HashWithChannelIDFor(c.ID, c.Protocol)
		if err != nil {
			continue
		}
		k := stateKey{h.State.TurnNum, hash}
		for _, sig := range h.Signatures {
			hs := recoverHeld(known, hash, sig, h.State.Participants)
			ev.held = append(ev.held, hs)
			if !hs.ok {
				continue
			}
			if err := addState(&h.State, k); err != nil {
				return err
			}
			addSig(sigKey{k.turn, k.hash, hs.signer}, sig)
		}
	}
	req.evidence = append(req.evidence, ev)
	return nil
}

// recoverHeld recovers the signer of a held state's signature, or finds it
// in what an earlier commit recovered.
func recoverHeld(known *evidence, hash nitro.Bytes32, sig nitro.Signature, parts []nitro.Address) heldSig {
	if known != nil {
		for _, h := range known.held {
			if h.hash == hash && h.sig == sig {
				return h
			}
		}
	}
	hs := heldSig{hash: hash, sig: sig}
	who, err := nitro.RecoverSigner(hash, sig)
	if err == nil && slices.Contains(parts, who) {
		hs.signer, hs.ok = who, true
	}
	return hs
}
