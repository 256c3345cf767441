package sim

import (
	"context"
	"slices"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/core/wire"
	"github.com/nitrowallet/nitrowallet/ports"
)

// The Step checks of World.call: the inputs a call gives the core are
// stepped on a copy first, and the call must commit exactly that.

// sampleStep says whether to check this call's Steps: every call, but only
// every StepCheckEvery-th while stabilizing, where the same kinds of input
// come over and over.
func (w *World) sampleStep() bool {
	w.calls++
	return !w.stabilizing || w.calls%stepCheckEvery == 0
}

// stepCheckEvery is the sampling of Step checks while stabilizing.
const stepCheckEvery = 3

// job is one input for one channel, as the app makes them.
type job struct {
	id nitro.Bytes32
	in core.Input
}

func jobsOf(js ...job) func() []job { return func() []job { return js } }

// prediction is what the core says a call must commit.
type prediction struct {
	failed  bool
	changes []string // canonical channel and effects, per job
}

// predict steps each job on a copy of the wallet's channel, as the app
// will: with the channel's transition rule (apps.go).
func (w *World) predict(wal *Wallet, ins []job) prediction {
	var p prediction
	for _, j := range ins {
		w.mu.Lock()
		c, known := wal.view[j.id]
		if known {
			c = c.Clone()
		}
		w.mu.Unlock()
		r, isReceive := j.in.(core.Receive)
		if !known && isReceive && len(r.States) == 0 {
			continue // the app skips what is about channels it does not know
		}
		// Every fourth input also checks that Step leaves its argument
		// alone (the app would not notice if it did).
		w.stats.StepChecks++
		purity := w.stats.StepChecks%4 == 0
		var before string
		if purity {
			before = Canonical(c)
		}
		next, effs, err := w.step(c, j.in)
		if purity && Canonical(c) != before {
			w.violate("Step changed its argument (%s, %T)", w.label(j.id), j.in)
		}
		if err != nil || (!known && !isReceive) {
			p.failed = true
			return p
		}
		if next, effs, err = w.signNow(wal, next, effs); err != nil {
			p.failed = true
			return p
		}
		p.changes = append(p.changes, Canonical(ports.Change{Channel: next, Effects: effs}))
	}
	return p
}

// signNow signs what effs asks to sign and steps the signatures back in,
// as the app does before it commits (app's signnow.go), with the wallet's
// key directly (the prediction's signatures are not the wallet's).
func (w *World) signNow(wal *Wallet, c core.Channel, effs []core.Effect) (core.Channel, []core.Effect, error) {
	for i := 0; i < len(effs); i++ {
		ss, ok := effs[i].(core.SignState)
		if !ok || ss.ChannelID != c.ID {
			continue
		}
		sig, err := wal.signer.inner.SignState(context.Background(), ss.Hash)
		if err != nil {
			return c, effs, err
		}
		next, more, err := w.step(c, core.Signed{Hash: ss.Hash, Signature: sig})
		if err != nil {
			return c, effs, err
		}
		c = next
		effs = slices.Replace(slices.Clip(effs), i, i+1, more...)
		i--
	}
	return c, effs, nil
}

// verify compares what a call committed first with the prediction.
func (w *World) verify(wal *Wallet, what string, p prediction, first []string, err error) {
	switch {
	case p.failed:
		if err == nil {
			w.violate("%s by %s succeeded but Step rejects its input", what, wal.Name)
		}
		if first != nil {
			w.violate("%s by %s failed but committed", what, wal.Name)
		}
	case len(p.changes) == 0:
	case first == nil:
		w.violate("%s by %s committed nothing (err %v)", what, wal.Name, err)
	case !slices.Equal(first, p.changes):
		w.violate("%s by %s committed other than Step gives on a copy: Step is not deterministic, or the app changed its input", what, wal.Name)
	}
}

// receiveJobs splits a message into one Receive per channel (base with the
// message's recipient and sender and the channel's parts), in the order
// channels first appear, as the app does.
func receiveJobs(base core.Receive, data []byte) []job {
	m, err := wire.DecodeMessage(data, wire.DefaultLimits())
	if err != nil {
		return nil
	}
	base.Recipient, base.Sender = m.Recipient, m.Sender
	var jobs []job
	idx := map[nitro.Bytes32]int{}
	get := func(id nitro.Bytes32) *core.Receive {
		i, ok := idx[id]
		if !ok {
			i = len(jobs)
			idx[id] = i
			jobs = append(jobs, job{id: id, in: base})
		}
		r := jobs[i].in.(core.Receive)
		return &r
	}
	put := func(id nitro.Bytes32, r *core.Receive) { jobs[idx[id]].in = *r }
	for _, s := range m.Payload.SignedStates {
		if id, err := s.State.ChannelID(); err == nil {
			r := get(id)
			r.States = append(r.States, s)
			put(id, r)
		}
	}
	for _, o := range m.Payload.Objectives {
		if o.TargetChannelID != (nitro.Bytes32{}) {
			r := get(o.TargetChannelID)
			r.Objectives = append(r.Objectives, o)
			put(o.TargetChannelID, r)
		}
	}
	for _, q := range m.Payload.Requests {
		r := get(q.ChannelID)
		r.Requests = append(r.Requests, q)
		put(q.ChannelID, r)
	}
	return jobs
}

func mod(i, n int) int {
	if n <= 0 {
		return 0
	}
	i %= n
	if i < 0 {
		i += n
	}
	return i
}
