package storecodec

// The encoding of a channel (the channels table; see codec.go).

import (
	"fmt"
	"slices"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// Flags of an encoded channel.
const (
	chanJoined = 1 << iota
	chanCreator
	chanConcluded
	chanCloseInitiator
	chanPending
	// chanProtocol0101 marks a channel signed under nitro.Protocol0101; a
	// channel without it (every row written before profiles existed) is
	// nitro.Protocol0170, so those rows read as they were written.
	chanProtocol0101
	// chanCloseRequested came later in the same format: rows written
	// before it have the bit clear, which reads as false, as they meant.
	chanCloseRequested
)

// AppendChannel appends the encoding of c to b.
func AppendChannel(b []byte, c *core.Channel) []byte {
	e := encoder{b: b}
	e.byte(codecFormat)
	e.word(c.ID)
	e.participants(c.Participants)
	e.varint(int64(c.MyIndex))
	e.str(c.FundingStrategy)
	var flags byte
	for _, f := range []struct {
		set  bool
		flag byte
	}{{c.Joined, chanJoined}, {c.Creator, chanCreator}, {c.Concluded, chanConcluded}, {c.CloseInitiator, chanCloseInitiator}, {c.Pending != nil, chanPending}, {c.Protocol == nitro.Protocol0101, chanProtocol0101}, {c.CloseRequested, chanCloseRequested}} {
		if f.set {
			flags |= f.flag
		}
	}
	e.byte(flags)
	e.state(&c.Setup, nil)
	e.count(len(c.States), c.States == nil)
	for i := range c.States {
		s := &c.States[i]
		e.state(&s.State, &c.Setup)
		e.word(s.Hash)
		e.sigs(s.Sigs)
	}
	e.signedStates(c.Held, &c.Setup)
	e.varint(c.MyLastTurn)
	if c.Pending != nil {
		e.state(&c.Pending.State, &c.Setup)
		e.word(c.Pending.Hash)
	}
	e.count(len(c.Funding), c.Funding == nil)
	for i := range c.Funding {
		f := &c.Funding[i]
		e.addr(f.Asset)
		e.bigInt(f.Holdings)
		e.count(len(f.Deposits), f.Deposits == nil)
		if len(f.Deposits) > 0 {
			keys := make([]int, 0, len(f.Deposits))
			for k := range f.Deposits {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				e.varint(int64(k))
				e.byte(byte(f.Deposits[k]))
			}
		}
		e.bool(f.PaidOut)
		e.count(len(f.Payouts), f.Payouts == nil)
		for _, p := range f.Payouts {
			e.bigInt(p)
		}
	}
	e.byte(byte(c.Conclude))
	e.varint(c.Now)
	e.varint(c.ClosedAt)
	e.varint(c.TxWaitSince)
	// An optional trailing section, absent from channels that never had a
	// dispute: their encoding, and what earlier binaries wrote, stay as
	// they were.
	if c.Challenge != core.TxNone || c.Dispute != nil || c.ReplyWaitSince != 0 {
		e.byte(byte(c.Challenge))
		e.bool(c.Dispute != nil)
		if d := c.Dispute; d != nil {
			e.uvarint(d.TurnNumRecord)
			e.uvarint(d.FinalizesAt)
			e.addr(d.Challenger)
			e.state(&d.Challenged, nil)
			e.byte(byte(d.Checkpoint))
			e.byte(byte(d.Push))
			e.uvarint(d.ChainTime)
		}
		// Last and only when set (a soft timer: a row cut right before
		// it loses only the wait, which restarts on the next Tick).
		if c.ReplyWaitSince != 0 {
			e.varint(c.ReplyWaitSince)
		}
	}
	return e.b
}

// DecodeChannel reads what AppendChannel wrote; errors wrap ErrCorrupt.
func DecodeChannel(data []byte) (core.Channel, error) {
	d := decoder{b: data}
	d.start()
	var c core.Channel
	c.ID = d.word()
	c.Participants = d.participants()
	c.MyIndex = d.int()
	c.FundingStrategy = d.str()
	flags := d.byte()
	c.Joined, c.Creator = flags&chanJoined != 0, flags&chanCreator != 0
	c.Concluded, c.CloseInitiator = flags&chanConcluded != 0, flags&chanCloseInitiator != 0
	if flags&chanProtocol0101 != 0 {
		c.Protocol = nitro.Protocol0101
	}
	c.CloseRequested = flags&chanCloseRequested != 0
	c.Setup = d.state(nil)
	c.States = list(&d, 36, func() core.StoredState {
		return core.StoredState{State: d.state(&c.Setup), Hash: d.word(), Sigs: d.sigs()}
	})
	c.Held = d.signedStates(&c.Setup)
	c.MyLastTurn = d.varint()
	if flags&chanPending != 0 {
		c.Pending = &core.Pending{State: d.state(&c.Setup), Hash: d.word()}
	}
	c.Funding = list(&d, 24, func() (f core.AssetFunding) {
		f.Asset = d.addr()
		f.Holdings = d.bigInt()
		if m := d.count(2); m >= 0 {
			f.Deposits = make(map[int]core.TxStatus, m)
			for range m {
				k := d.int()
				f.Deposits[k] = core.TxStatus(d.byte())
			}
		}
		f.PaidOut = d.bool()
		f.Payouts = list(&d, 1, d.bigInt)
		return f
	})
	c.Conclude = core.TxStatus(d.byte())
	c.Now = d.varint()
	c.ClosedAt = d.varint()
	c.TxWaitSince = d.varint()
	if len(d.b) > 0 { // the dispute section (AppendChannel)
		c.Challenge = core.TxStatus(d.byte())
		if d.bool() {
			c.Dispute = &core.Dispute{TurnNumRecord: d.uvarint(), FinalizesAt: d.uvarint(), Challenger: d.addr(), Challenged: d.state(nil)}
			c.Dispute.Checkpoint, c.Dispute.Push = core.TxStatus(d.byte()), core.TxStatus(d.byte())
			c.Dispute.ChainTime = d.uvarint()
		}
		if len(d.b) > 0 {
			c.ReplyWaitSince = d.varint()
		}
	}
	if err := d.finish(); err != nil {
		return core.Channel{}, fmt.Errorf("store codec: decode channel: %w", err)
	}
	return c, nil
}
