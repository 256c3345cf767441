// Sync: resend my recent states and answer requests for them, so that a
// peer who lost messages catches up.
//
// Input: Sync (sync: my recent states and a GetChannel request to every
// peer). A Receive's GetChannel requests (answerRequests, after its states
// are applied: receive.go) are answered once per input and only to another
// participant (AnswersGetChannel). What is resent is recentStates: every
// setup state during setup, afterwards the last n turns.

package core

func (s *stepper) sync() {
	states := s.recentStates()
	for i, to := range s.c.Participants {
		if i == s.c.MyIndex {
			continue
		}
		s.sendTo(to.ParticipantID, Payload{
			SignedStates: states,
			Requests:     []Request{{Type: RequestGetChannel, ChannelID: s.c.ID}},
		})
	}
}

// recentStates returns the states a peer needs to catch up: every setup
// state during setup, and afterwards the last n turns. A peer is never more
// than n-1 turns from us, so none of these is below what it keeps (the last
// 2n turns) and a resend is never rejected as stale.
func (s *stepper) recentStates() []SignedState {
	out := make([]SignedState, 0, len(s.c.States))
	l, _ := s.c.Latest()
	n := uint64(s.c.N())
	for _, st := range s.c.States {
		if l.State.TurnNum >= 2*n && st.State.TurnNum+n <= l.State.TurnNum {
			continue
		}
		out = append(out, s.signedState(st))
	}
	return out
}

// AnswersGetChannel reports whether this wallet answers a GetChannel
// request for the channel from sender: only when sender is the
// participantId of a participant other than this wallet, who is also whom
// the answer goes to. A request from anyone else is ignored (it changes
// nothing and sends nothing), as one about an unknown channel is.
func (c *Channel) AnswersGetChannel(sender string) bool {
	if sender == "" || len(c.Participants) == 0 || sender == c.Me().ParticipantID {
		return false
	}
	for _, p := range c.Participants {
		if p.ParticipantID == sender {
			return true
		}
	}
	return false
}

// GetChannelReply returns the signed states a GetChannel request is
// answered with: those a peer needs to catch up (see Sync). They share
// memory with c and must not be modified.
func (c *Channel) GetChannelReply() []SignedState {
	s := stepper{c: *c}
	return s.recentStates()
}

// answerRequests answers the input's GetChannel requests for this channel:
// once, however many it repeats, and only to a participant other than me
// (see AnswersGetChannel). How much a peer may ask for over time is the
// app's to bound: the core has no clock.
func (s *stepper) answerRequests(in Receive) {
	for _, r := range in.Requests {
		if r.Type == RequestGetChannel && r.ChannelID == s.c.ID {
			if s.c.AnswersGetChannel(in.Sender) {
				s.sendTo(in.Sender, Payload{SignedStates: s.recentStates()})
			}
			return
		}
	}
}
