package ethereum

// The dispute half of the chain port (ports.Disputes) on the
// NitroAdjudicator 0.17.0: challenge, respond, checkpoint and
// pushOutcomeAndTransferAll sent through the same sender as Deposit and
// Conclude (nonces, gas, receipt wait, resubmission, revert reasons), the
// adjudicator's record read through statusOf, the head's block time, and
// the decoding of ChallengeRegistered's support proof.

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// abiVariablePart mirrors IForceMoveApp.VariablePart.
type abiVariablePart struct {
	Outcome []byte
	AppData []byte
}

func fixedPartArg(f nitro.FixedPart) abiFixedPart {
	return abiFixedPart{
		ChainId: f.ChainID, Participants: f.Participants,
		ChannelNonce:      new(big.Int).SetUint64(f.ChannelNonce),
		AppDefinition:     f.AppDefinition,
		ChallengeDuration: new(big.Int).SetUint64(f.ChallengeDuration),
	}
}

func sigArg(s nitro.Signature) abiSignature { return abiSignature{V: s.V, R: s.R, S: s.S} }

func variablePartArg(st nitro.State) (abiVariablePart, error) {
	outcome, err := st.Outcome.Encode()
	if err != nil {
		return abiVariablePart{}, err
	}
	return abiVariablePart{Outcome: outcome, AppData: append([]byte{}, st.AppData...)}, nil
}

// proofArgs are a support proof as challenge and checkpoint take it.
type proofArgs struct {
	fixed        abiFixedPart
	largest      *big.Int
	parts        []abiVariablePart
	isFinalCount uint8
	sigs         []abiSignature
	who          []uint8
}

func encodeProof(p ports.SupportProof) (proofArgs, error) {
	isFinalCount, err := ports.ProofShape(p)
	if err != nil {
		return proofArgs{}, err
	}
	a := proofArgs{
		fixed:        fixedPartArg(p.States[0].FixedPart()),
		largest:      new(big.Int).SetUint64(p.States[len(p.States)-1].TurnNum),
		isFinalCount: isFinalCount,
		sigs:         make([]abiSignature, len(p.Signatures)),
		who:          append([]uint8{}, p.WhoSignedWhat...),
	}
	for _, st := range p.States {
		vp, err := variablePartArg(st)
		if err != nil {
			return proofArgs{}, fmt.Errorf("%w: %w", ports.ErrBadProof, err)
		}
		a.parts = append(a.parts, vp)
	}
	for i, s := range p.Signatures {
		a.sigs[i] = sigArg(s)
	}
	return a, nil
}

// Challenge implements ports.Disputes: the adjudicator's
// challenge(fixedPart, largestTurnNum, variableParts, isFinalCount, sigs,
// whoSignedWhat, challengerSig) with the proof's fixed part, its last turn,
// its variable parts in order and the count of final states at its end.
// A proof that cannot be encoded is an error wrapping ports.ErrBadProof,
// and nothing is sent. It returns once the transaction is mined.
func (c *Chain) Challenge(ctx context.Context, req ports.ChallengeRequest) (ports.TxHash, error) {
	a, err := encodeProof(req.Proof)
	if err != nil {
		return ports.TxHash{}, fmt.Errorf("ethereum: challenge: %w", err)
	}
	data, err := adjudicatorABI.Pack("challenge", a.fixed, a.largest, a.parts, a.isFinalCount, a.sigs, a.who, sigArg(req.ChallengerSignature))
	if err != nil {
		return ports.TxHash{}, fmt.Errorf("ethereum: challenge: %w", err)
	}
	return c.adjudicate(ctx, "challenge", data)
}

// Checkpoint implements ports.Disputes: the adjudicator's checkpoint, the
// proof encoded as for Challenge.
func (c *Chain) Checkpoint(ctx context.Context, req ports.CheckpointRequest) (ports.TxHash, error) {
	a, err := encodeProof(req.Proof)
	if err != nil {
		return ports.TxHash{}, fmt.Errorf("ethereum: checkpoint: %w", err)
	}
	data, err := adjudicatorABI.Pack("checkpoint", a.fixed, a.largest, a.parts, a.isFinalCount, a.sigs, a.who)
	if err != nil {
		return ports.TxHash{}, fmt.Errorf("ethereum: checkpoint: %w", err)
	}
	return c.adjudicate(ctx, "checkpoint", data)
}

// Respond implements ports.Disputes: the adjudicator's respond(challenger,
// isFinalAB, fixedPart, variablePartAB, sig) with the challenged state's
// fixed part and both states' isFinal and variable parts. The turn numbers
// are not sent: the contract hashes the challenged state with its turn
// number record and the response with the turn after it.
func (c *Chain) Respond(ctx context.Context, req ports.RespondRequest) (ports.TxHash, error) {
	if _, err := req.Challenged.Hash(); err != nil {
		return ports.TxHash{}, fmt.Errorf("ethereum: respond: %w: challenged state: %w", ports.ErrBadProof, err)
	}
	va, err := variablePartArg(req.Challenged)
	if err != nil {
		return ports.TxHash{}, fmt.Errorf("ethereum: respond: %w: %w", ports.ErrBadProof, err)
	}
	vb, err := variablePartArg(req.Response)
	if err != nil {
		return ports.TxHash{}, fmt.Errorf("ethereum: respond: %w: response: %w", ports.ErrBadProof, err)
	}
	data, err := adjudicatorABI.Pack("respond", req.Challenger, [2]bool{req.Challenged.IsFinal, req.Response.IsFinal},
		fixedPartArg(req.Challenged.FixedPart()), [2]abiVariablePart{va, vb}, sigArg(req.Signature))
	if err != nil {
		return ports.TxHash{}, fmt.Errorf("ethereum: respond: %w", err)
	}
	return c.adjudicate(ctx, "respond", data)
}

// PushOutcomeAndTransferAll implements ports.Disputes: the adjudicator's
// pushOutcomeAndTransferAll(channelId, turnNumRecord, finalizesAt,
// stateHash, challengerAddress, outcomeBytes) with the challenged state's
// channel id, hash and encoded outcome.
func (c *Chain) PushOutcomeAndTransferAll(ctx context.Context, req ports.PushOutcomeRequest) (ports.TxHash, error) {
	st := req.Challenged
	id, err := st.ChannelID()
	if err != nil {
		return ports.TxHash{}, fmt.Errorf("ethereum: push outcome: %w: %w", ports.ErrBadProof, err)
	}
	h, err := st.HashWithChannelID(id)
	if err != nil {
		return ports.TxHash{}, fmt.Errorf("ethereum: push outcome: %w: %w", ports.ErrBadProof, err)
	}
	if req.TurnNumRecord > nitro.MaxUint48 || req.FinalizesAt > nitro.MaxUint48 {
		return ports.TxHash{}, fmt.Errorf("ethereum: push outcome: %w: %w", ports.ErrBadProof, nitro.ErrUint48OutOfRange)
	}
	outcome, err := st.Outcome.Encode()
	if err != nil {
		return ports.TxHash{}, fmt.Errorf("ethereum: push outcome: %w: %w", ports.ErrBadProof, err)
	}
	data, err := adjudicatorABI.Pack("pushOutcomeAndTransferAll", id,
		new(big.Int).SetUint64(req.TurnNumRecord), new(big.Int).SetUint64(req.FinalizesAt), h, req.Challenger, outcome)
	if err != nil {
		return ports.TxHash{}, fmt.Errorf("ethereum: push outcome: %w", err)
	}
	return c.adjudicate(ctx, "push outcome", data)
}

// adjudicate sends a call to the adjudicator and waits until it is mined.
func (c *Chain) adjudicate(ctx context.Context, kind string, data []byte) (ports.TxHash, error) {
	adj := c.cfg.Contracts.Adjudicator
	h, _, err := c.send.transact(ctx, call{kind: kind, to: &adj, data: data})
	return h, err
}

// Record implements ports.Disputes: statusOf(channelId) at the head,
// unpacked as turnNumRecord (the top 48 bits) and finalizesAt (the next
// 48); the low 160 bits are the fingerprint.
func (c *Chain) Record(ctx context.Context, channelID nitro.Bytes32) (ports.ChannelRecord, error) {
	word, err := c.statusOf(ctx, channelID)
	if err != nil {
		return ports.ChannelRecord{}, err
	}
	return unpackStatus(word), nil
}

func unpackStatus(word common.Hash) ports.ChannelRecord {
	w := new(big.Int).SetBytes(word[:])
	mask := new(big.Int).SetUint64(nitro.MaxUint48)
	return ports.ChannelRecord{
		TurnNumRecord: new(big.Int).Rsh(w, 208).Uint64(),
		FinalizesAt:   new(big.Int).And(new(big.Int).Rsh(w, 160), mask).Uint64(),
	}
}

// statusOf reads the adjudicator's status word of a channel at the head.
func (c *Chain) statusOf(ctx context.Context, id nitro.Bytes32) (common.Hash, error) {
	data, err := adjudicatorABI.Pack("statusOf", id)
	if err != nil {
		return common.Hash{}, fmt.Errorf("ethereum: statusOf: %w", err)
	}
	adj := c.cfg.Contracts.Adjudicator
	res, err := c.client.CallContract(ctx, ethereum.CallMsg{To: &adj, Data: data}, nil)
	if err != nil {
		return common.Hash{}, classify("statusOf", err)
	}
	if len(res) == 0 {
		return common.Hash{}, fmt.Errorf("ethereum: statusOf at %s: %w", adj, ports.ErrNoContract)
	}
	if len(res) != 32 {
		return common.Hash{}, fmt.Errorf("ethereum: statusOf at %s: unexpected answer %x", adj, res)
	}
	return common.BytesToHash(res), nil
}

// BlockTime implements ports.Disputes: the head header's timestamp.
func (c *Chain) BlockTime(ctx context.Context) (uint64, error) {
	h, err := c.client.HeaderByNumber(ctx, nil)
	if err != nil {
		return 0, classify("read head", err)
	}
	return h.Time, nil
}

// challengeRegistered is ChallengeRegistered's non-indexed data.
type challengeRegistered struct {
	TurnNumRecord *big.Int
	FinalizesAt   *big.Int
	Challenger    common.Address
	IsFinal       bool
	FixedPart     abiFixedPart
	VariableParts []abiVariablePart
	Sigs          []abiSignature
	WhoSignedWhat []uint8
}

// decodeChallenge fills a ChallengeRegistered event from the log's data:
// the challenged turn, finalizesAt, the challenger and the registered
// proof as ports.RegisteredProof rebuilds it. An outcome that does not
// decode (the contract only hashes it) leaves Challenge nil; the event is
// still delivered.
func decodeChallenge(data []byte) (turn, finalizesAt uint64, challenger common.Address, proof *ports.SupportProof, err error) {
	var r challengeRegistered
	if err := adjudicatorABI.UnpackIntoInterface(&r, "ChallengeRegistered", data); err != nil {
		return 0, 0, common.Address{}, nil, err
	}
	turn, finalizesAt = r.TurnNumRecord.Uint64(), r.FinalizesAt.Uint64()
	fixed := nitro.FixedPart{
		ChainID: r.FixedPart.ChainId, Participants: r.FixedPart.Participants,
		ChannelNonce: r.FixedPart.ChannelNonce.Uint64(), AppDefinition: r.FixedPart.AppDefinition,
		ChallengeDuration: r.FixedPart.ChallengeDuration.Uint64(),
	}
	parts := make([]ports.RegisteredPart, len(r.VariableParts))
	for i, vp := range r.VariableParts {
		o, err := nitro.DecodeOutcome(vp.Outcome)
		if err != nil {
			return turn, finalizesAt, r.Challenger, nil, nil
		}
		parts[i] = ports.RegisteredPart{Outcome: o, AppData: vp.AppData}
	}
	sigs := make([]nitro.Signature, len(r.Sigs))
	for i, s := range r.Sigs {
		sigs[i] = nitro.Signature{V: s.V, R: s.R, S: s.S}
	}
	return turn, finalizesAt, r.Challenger, ports.RegisteredProof(fixed, turn, r.IsFinal, parts, sigs, r.WhoSignedWhat), nil
}
