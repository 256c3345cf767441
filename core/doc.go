// Package core is the wallet's deterministic heart: Step(channel, input)
// returns the channel's next state and the side effects the app must carry
// out (sign, send, deposit, conclude, watch). It does no I/O, reads no clock,
// draws no randomness, holds no keys and starts no goroutines: signatures,
// chain events, messages, API calls and time all arrive as inputs.
//
// The protocols, for a directly funded channel with n participants where
// participant i is the mover of every turn t with t mod n == i:
//
//   - open: participant i signs the prefund setup state of turn i when it
//     creates or joins the channel. Once turns 0..n-1 are all signed, the
//     allocation items are deposited in order: whoever owns item k deposits
//     it when the holdings reach the sum of the items before k (Nitro's
//     expectedHeld), learning holdings from Deposited events. When every
//     asset is fully funded, participant i signs the postfund state n+i once
//     it holds the postfund states of the participants before it.
//   - run: the mover of turn latest+1 may sign a new state that keeps each
//     asset's total; receivers check signer, mover and turn, then the
//     channel's app: its TransitionRule (StepWith) or, with appDefinition
//     zero, the core's own rule (noapp.go): only the mover's items may go
//     down, and each receiver countersigns the state, since the
//     adjudicator proves an app-less running state only when all signed it
//     (Channel.Supported is the latest state the wallet can prove).
//   - funding strategies (funding.go): Direct, as above, or Fake: no
//     deposits, funded at once, never concluded on chain; holdings a
//     watcher outside the wallet reports (ReportHoldings) apply as
//     Deposited events do.
//   - close: the mover of turn latest+1 signs an isFinal state with the
//     latest outcome; every other participant countersigns it on receipt.
//     A peer's CloseChannel objective makes the wallet sign it once its
//     turn comes.
//     Once all have signed, the final state's mover submits
//     concludePushOutcomeAndTransferAll; the others back it up only after
//     BackupConcludeDelay seconds of Tick time without a Concluded event
//     (decided on a Tick; the Tick may set the delay).
//   - retry: a transaction of mine whose effect has not shown on chain after
//     TxRetryDelay seconds of Tick time, or the Tick's own delay (a deposit
//     the holdings do not cover, a conclude without Concluded, say after a
//     reorg dropped it), is submitted again; Nitro makes the repeat harmless.
//   - rewind: a Rewound input (the chain dropped blocks whose events were
//     applied: a reorg deeper than the confirmation depth, a node that came
//     back lower) carries the exact holdings read from the chain afterwards.
//     They replace what the channel knew, downward too, except that a
//     channel with a final state never lowers them (its conclude may be
//     mined and not seen yet). A payout the chain no longer shows is undone
//     with its conclude, which is submitted again; my deposits the holdings
//     no longer cover are requested again. A running channel below its
//     funding total is funded again in queue order, as when it opened; a
//     conclude waits while a deposit of mine is not seen yet, so that none
//     lands after the payout. A channel closed before its funding came
//     back concludes with what is held (Nitro pays items in order).
//   - sync: Sync resends my recent states to every peer with a GetChannel
//     request; a GetChannel request is answered with my recent states, once
//     per input however often it is repeated, and only when the message's
//     sender is the participantId of a participant other than me (the
//     answer goes to it). How much a peer may ask for over time is bounded
//     by the app, which has the clock.
//   - dispute (dispute.go): Challenge submits a challenge with the shortest
//     support proof of my supported state; a ChallengeRegistered on an
//     older turn than my supported state is answered with a checkpoint;
//     once a Tick reaches finalizesAt the challenger's wallet pushes the
//     outcome (pushOutcomeAndTransferAll), the others after
//     BackupConcludeDelay; the payout follows the challenged state. A
//     challenge with a final state signed by all held concludes at once,
//     mover or not; the Concluded event ends the dispute.
//   - liveness (liveness.go): with a Tick's AutoChallengeAfter, a wallet
//     that has awaited a peer that long (a deposit, a postfund signature,
//     an app channel's next move after mine, a countersignature of my
//     final state) challenges on its own; a peer's progress restarts the
//     wait.
//     Updates wait while a dispute runs (ErrDisputed).
//
// Protocol profile: every state hash the core signs or checks is the one of
// the channel's nitro.Protocol (Channel.Protocol): 0.17.0's by default, or
// 0.10.1's, whose outcomeHash is keccak256(abi.encode(bytes outcome)) (the
// TypeScript server wallet 1.13.1 signs it); the channel id, appPartHash and
// outcome bytes are the same in both. The profile is the wallet's, given
// in the Deployment of Create, Join and Receive (like the chain id, it is
// what the wallet's contracts check), and a channel takes it when it
// starts (Create, or the Receive that proposes it) and keeps it: it is a
// field of the stored channel, so a restart keeps it. A peer's state whose
// signatures recover to a participant only under the other profile is
// refused with ErrWrongProtocol (an ErrWrongSigner; the second recovery is
// paid only on refusal), and Join under another profile than the
// channel's with ErrProtocolChanged; as with every error, nothing changes.
// The default path costs nothing: nitro's 0.17.0 hash is the same code.
// On chain, disputes and conclude need contracts of the same generation.
//
// Status rule (reported as ChannelResult.status), first match wins:
//
//	closed    a final state is signed by every participant, or one is
//	          held and the channel was concluded on chain (a
//	          countersignature that never reached me), or a finalized
//	          challenge's outcome was paid out in every asset
//	closing   a final state exists that is not signed by everyone yet
//	challenging  a challenge is registered and this wallet is its
//	          challenger, or it holds nothing newer than the challenged
//	          turn (a force-close it accepts), or it has asked for its own
//	          challenge and the chain has not registered it yet
//	responding   a challenge is registered on a turn older than this
//	          wallet's supported state, which it must answer (checkpoint)
//	proposed  I have not joined the channel
//	running   every postfund state is signed, or a later state exists
//	funding   the prefund states are all signed and the deposit queue has
//	          reached me in every asset (holdings >= sum of items before mine);
//	          never with Fake funding, which has no queue
//	opening   otherwise
//
// With two participants this gives the founding document's sequence: A is
// opening after create, funding after B's prefund, running after B's
// postfund; B is proposed on the proposal, opening after join, funding once
// A's deposit lands, and running after A's postfund and its own.
//
// # Layout
//
// Step (step.go) is a dispatcher: it hands each input to the phase that
// handles it, then runs the crank (crank.go), which calls every phase's
// guards in protocol order; each guard either waits or emits effects. Each
// phase file opens with a comment naming its phase and its guards in
// protocol order, so that a phase is checked against the protocol above in
// one place. A phase's tests are in the _test.go file beside it; tests that
// run through every phase are in step_test.go (the founding document's two
// parties), protocol_test.go (n parties), hostile_test.go (hostile peers),
// stale_sync_test.go (a sync regression) and fuzz_test.go.
//
//	file          phase                   inputs; guards, in protocol order
//	step.go       dispatch                Step; the stepper and its copy-on-write
//	crank.go      every phase, in order   open's guards, run's countersign (no
//	                                      app), then close's
//	open.go       open, fund              Create, Join; signPrefund, all prefund
//	                                      signed, deposit, signPostfund
//	run.go        run (take turns)        Update; nextTurnCheck, checkTransition
//	close.go      close, conclude         Close; closeOnTurn, countersign, conclude
//	funding.go    funding strategies      ReportHoldings; checkFunding (Direct, Fake)
//	sign.go       sign and keep states    Signed; requestSign, insert, prune
//	receive.go    peer states (any phase) Receive; checkFixed, verified, equivocation
//	                                      (equivocation.go), setup unchanged, hold,
//	                                      checkTransition; then applyHeld
//	sync.go       sync, requests          Sync; answerRequests (GetChannel)
//	onchain.go    chain and time          Tick (backup due, retries), TxFailed,
//	                                      ChainEvent (holdings, Concluded, payout)
//	apprules.go   app rules               StepWith's TransitionRule, after
//	                                      checkTransition on Update, Close, Receive
//	noapp.go      run without an app      the mover-pays rule in place of a
//	                                      TransitionRule; countersignRunning
//	                                      (a crank guard); Supported
//	dispute.go    disputes                Challenge; ChallengeRegistered/Cleared;
//	                                      defend (push once finalized, checkpoint
//	                                      a stale challenge); SupportProof
//	liveness.go   liveness exit           Tick's AutoChallengeAfter; AwaitingPeer
//	rewind.go     chain rewinds           Rewound; holdings replaced (not below a
//	                                      final state's), vanished payouts undone,
//	                                      deposits no longer covered re-requested
//
// The channel's state and what is derived from it (the status rule, the
// deposit queue) are in channel.go, the inputs and effects in io.go, the
// wire types in types.go, the errors in errors.go, the deployment check in
// deployment.go and the deep copy in clone.go.
//
// Disputes are in dispute.go, a live dispute being a mode the crank checks
// first. App rules are in apprules.go: StepWith
// takes a TransitionRule, a pure function the app layer backs with the
// channel's registered app (package apprules runs its validTransition in a
// local EVM); every running or final transition this wallet signs or
// accepts must pass it, else ErrAppRule and nothing changes.
package core
