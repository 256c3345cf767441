package core

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
