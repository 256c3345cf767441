package app

// Stats are counters an operator can read: what the wallet refused to do
// for peers and subscribers to keep its output and memory bounded, the
// states it signed and received, and its chain transactions.
type Stats struct {
	// RequestsAnswered counts the GetChannel requests passed on to be
	// answered (distinct channels per message).
	RequestsAnswered uint64
	// RequestsIgnored counts GetChannel requests not answered because they
	// came from a stranger: the channel is unknown, or the message's sender
	// is not a participant other than this wallet, or the message was a
	// bare payload (no sender; see PushMessage).
	RequestsIgnored uint64
	// RequestsOverMessage counts GetChannel requests dropped because their
	// message asked for more than RequestLimits.PerMessage channels or for
	// replies larger than a peer may receive in one message.
	RequestsOverMessage uint64
	// RequestsOverBudget counts GetChannel requests dropped because their
	// sender's reply budget (RequestLimits.PeerBurst, PeerRate) was spent.
	RequestsOverBudget uint64
	// ReplyBytes is the size of the GetChannel replies admitted, as
	// measured when they were admitted.
	ReplyBytes uint64
	// NotificationsDropped counts notifications dropped from full
	// subscriber queues (and from those kept during New).
	NotificationsDropped uint64
	// ChainRewinds counts the chain rewinds handled: blocks the wallet had
	// read events from left the node's chain (a reorg deeper than the
	// confirmation depth, a node that came back lower or empty).
	ChainRewinds uint64
	// StatesSigned counts the states this wallet signed, by kind (each
	// signature once, when the signer gave it).
	StatesSigned StateCounts
	// StatesReceived counts the signed states in the peers' messages
	// PushMessage accepted, by kind (a state a peer sends again, after a
	// SyncChannel for instance, counts again).
	StatesReceived StateCounts
	// ChainTransactions counts the transactions handed to the chain port.
	ChainTransactions TxCounts
}

// Stats returns the wallet's counters since New.
func (w *Wallet) Stats() Stats {
	g := w.gate
	return Stats{
		RequestsAnswered: g.answered.Load(), RequestsIgnored: g.ignored.Load(),
		RequestsOverMessage: g.overMessage.Load(), RequestsOverBudget: g.overBudget.Load(),
		ReplyBytes: g.replyBytes.Load(), NotificationsDropped: w.subs.dropped.Load(),
		ChainRewinds:   w.rewound.Load(),
		StatesSigned:   counts(&w.meter.signed),
		StatesReceived: counts(&w.meter.received),
		ChainTransactions: TxCounts{
			Submitted: w.meter.txSubmitted.Load(), Mined: w.meter.txMined.Load(),
			Reverted: w.meter.txReverted.Load(), Failed: w.meter.txFailed.Load(),
		},
	}
}
