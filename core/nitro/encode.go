package nitro

import (
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

func mustType(t string, comps []abi.ArgumentMarshaling) abi.Type {
	ty, err := abi.NewType(t, "", comps)
	if err != nil {
		panic(err)
	}
	return ty
}

// ABI argument lists, built once; they are read-only after construction.
var (
	tBytes32 = mustType("bytes32", nil)
	tString  = mustType("string", nil)

	allocationArgs = abi.Arguments{{Type: mustType("tuple[]", []abi.ArgumentMarshaling{
		{Name: "destination", Type: "bytes32"}, {Name: "amount", Type: "uint256"}})}}
	guaranteeArgs = abi.Arguments{{Type: mustType("tuple", []abi.ArgumentMarshaling{
		{Name: "targetChannelId", Type: "bytes32"}, {Name: "destinations", Type: "bytes32[]"}})}}
	assetOutcomeArgs = abi.Arguments{{Type: mustType("tuple", []abi.ArgumentMarshaling{
		{Name: "assetOutcomeType", Type: "uint8"}, {Name: "allocationOrGuaranteeBytes", Type: "bytes"}})}}
	outcomeArgs = abi.Arguments{{Type: mustType("tuple[]", []abi.ArgumentMarshaling{
		{Name: "assetHolderAddress", Type: "address"}, {Name: "assetOutcomeBytes", Type: "bytes"}})}}
	challengeArgs = abi.Arguments{{Type: tBytes32}, {Type: tString}}
)

// Asset outcome type tags as encoded on chain.
const (
	AllocationType uint8 = 0
	GuaranteeType  uint8 = 1
)

type abiAllocationItem struct {
	Destination [32]byte
	Amount      *big.Int
}

type abiGuarantee struct {
	TargetChannelId [32]byte
	Destinations    [][32]byte
}

type abiAssetOutcome struct {
	AssetOutcomeType           uint8
	AllocationOrGuaranteeBytes []byte
}

type abiOutcomeItem struct {
	AssetHolderAddress common.Address
	AssetOutcomeBytes  []byte
}

// ChannelID returns keccak256(abi.encode(chainId, participants, channelNonce)).
// It fails like the npm helper when the id would look like an external
// destination.
func (f FixedPart) ChannelID() (Bytes32, error) {
	if err := f.check(); err != nil {
		return Bytes32{}, err
	}
	key, memo := idKeyOf(f)
	if memo {
		if id, ok := channelIDs.Load(key); ok {
			return id.(Bytes32), nil
		}
	}
	id := crypto.Keccak256Hash(encodeChannelID(f.ChainID, f.Participants, f.ChannelNonce))
	if IsExternalDestination(id) {
		return Bytes32{}, ErrExternalChannelID
	}
	if memo && memoHeld.Add(1) <= maxMemo {
		channelIDs.Store(key, id)
	}
	return id, nil
}

// Memos of channel ids and app part hashes: every message a wallet sends
// or receives carries a channel's fixed part and (usually) the same app
// part again, and each costs a keccak. They are pure functions of their
// keys; the memos are bounded, and past the bound values are computed.
var (
	channelIDs sync.Map // idKey → Bytes32
	appParts   sync.Map // appKey → Bytes32
	memoHeld   atomic.Int64
)

const maxMemo = 1 << 15

// idKey identifies a fixed part's channel id for up to 4 participants.
type idKey struct {
	chain [32]byte
	nonce uint64
	n     int
	parts [4]Address
}

func idKeyOf(f FixedPart) (idKey, bool) {
	var k idKey
	if len(f.Participants) > len(k.parts) {
		return k, false
	}
	f.ChainID.FillBytes(k.chain[:]) // checked: 0 <= chainID <= 2^256-1
	k.nonce, k.n = f.ChannelNonce, len(f.Participants)
	copy(k.parts[:], f.Participants)
	return k, true
}

// appKey identifies an app part with up to 64 bytes of appData.
type appKey struct {
	duration uint64
	app      Address
	n        int
	data     [64]byte
}

func (f FixedPart) check() error {
	if f.ChainID == nil || f.ChainID.Sign() < 0 || f.ChainID.Cmp(maxUint256) > 0 {
		return ErrBadChainID
	}
	if len(f.Participants) > MaxParticipants {
		return ErrTooManyParticipants
	}
	if f.ChannelNonce > MaxUint48 || f.ChallengeDuration > MaxUint48 {
		return ErrUint48OutOfRange
	}
	return nil
}

// ChannelID returns the id of the state's channel.
func (s State) ChannelID() (Bytes32, error) { return s.FixedPart().ChannelID() }

// AppPartHash returns keccak256(abi.encode(challengeDuration, appDefinition, appData)).
func (s State) AppPartHash() (Bytes32, error) {
	if s.ChallengeDuration > MaxUint48 {
		return Bytes32{}, ErrUint48OutOfRange
	}
	var key appKey
	memo := len(s.AppData) <= len(key.data)
	if memo {
		key.duration, key.app, key.n = s.ChallengeDuration, s.AppDefinition, len(s.AppData)
		copy(key.data[:], s.AppData)
		if h, ok := appParts.Load(key); ok {
			return h.(Bytes32), nil
		}
	}
	h := crypto.Keccak256Hash(encodeAppPart(s.ChallengeDuration, s.AppDefinition, s.AppData))
	if memo && memoHeld.Add(1) <= maxMemo {
		appParts.Store(key, h)
	}
	return h, nil
}

// Hash returns the state hash participants sign:
// keccak256(abi.encode(State{turnNum, isFinal, channelId, appPartHash, outcomeHash})).
func (s State) Hash() (Bytes32, error) {
	if s.TurnNum > MaxUint48 {
		return Bytes32{}, ErrUint48OutOfRange
	}
	id, err := s.ChannelID()
	if err != nil {
		return Bytes32{}, err
	}
	return s.HashWithChannelID(id)
}

// HashWithChannelID returns Hash for a state whose ChannelID is id, without
// computing the id again: for a caller that has checked the state's fixed
// part against a channel whose id it holds. It does not check id.
func (s State) HashWithChannelID(id Bytes32) (Bytes32, error) {
	if s.TurnNum > MaxUint48 {
		return Bytes32{}, ErrUint48OutOfRange
	}
	app, err := s.AppPartHash()
	if err != nil {
		return Bytes32{}, err
	}
	oh, err := s.Outcome.Hash()
	if err != nil {
		return Bytes32{}, err
	}
	buf := scratch.Get().(*[]byte)
	*buf = appendState((*buf)[:0], s.TurnNum, s.IsFinal, id, app, oh)
	h := keccak(*buf)
	scratch.Put(buf)
	return h, nil
}

// scratch holds buffers for encodings that are only hashed.
var scratch = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// hashers holds keccak-256 states with room for a small input and the
// result, so that hashing allocates nothing (what goes through the state's
// interface methods would otherwise escape to the heap).
var hashers = sync.Pool{New: func() any { return &hasher{st: crypto.NewKeccakState()} }}

type hasher struct {
	st  crypto.KeccakState
	in  [64]byte
	out Bytes32
}

// sum returns keccak256(p) from the hasher's state.
func (k *hasher) sum(p []byte) Bytes32 {
	k.st.Reset()
	k.st.Write(p)
	k.st.Read(k.out[:])
	return k.out
}

// keccak returns keccak256(b). b must not be a stack variable of the caller
// (it would escape): small inputs go through keccakSmall.
func keccak(b []byte) Bytes32 {
	k := hashers.Get().(*hasher)
	h := k.sum(b)
	hashers.Put(k)
	return h
}

// keccakSmall hashes the concatenation of a and b (at most 64 bytes),
// copied into the hasher's own buffer.
func keccakSmall(a string, b []byte) Bytes32 {
	k := hashers.Get().(*hasher)
	n := copy(k.in[:], a)
	n += copy(k.in[n:], b)
	h := k.sum(k.in[:n])
	hashers.Put(k)
	return h
}

// EncodeAllocation returns abi.encode(AllocationItem[]).
func EncodeAllocation(items []AllocationItem) ([]byte, error) {
	for _, it := range items {
		if err := CheckAmount(it.Amount); err != nil {
			return nil, err
		}
	}
	return encodeAllocationItems(items), nil
}

// EncodeGuarantee returns abi.encode(Guarantee).
func EncodeGuarantee(g Guarantee) ([]byte, error) {
	return encodeGuaranteeTuple(g), nil
}

// Encode returns the asset outcome bytes: abi.encode(AssetOutcome{type, bytes}).
func (a AssetOutcome) Encode() ([]byte, error) {
	var (
		inner []byte
		typ   = AllocationType
		err   error
	)
	if a.Guarantee != nil {
		typ = GuaranteeType
		inner, err = EncodeGuarantee(*a.Guarantee)
	} else {
		inner, err = EncodeAllocation(a.Allocation)
	}
	if err != nil {
		return nil, err
	}
	return encodeAssetOutcomeTuple(typ, inner), nil
}

// Encode returns the outcome bytes: abi.encode(OutcomeItem[]).
func (o Outcome) Encode() ([]byte, error) {
	holders := make([]Address, len(o))
	items := make([][]byte, len(o))
	for i, a := range o {
		b, err := a.Encode()
		if err != nil {
			return nil, err
		}
		holders[i], items[i] = a.AssetHolder, b
	}
	return encodeOutcomeItems(holders, items), nil
}

// AppendEncoding appends Encode's bytes for o to dst, in one pass and
// with no buffer of its own (for callers that reuse dst).
func (o Outcome) AppendEncoding(dst []byte) ([]byte, error) {
	if err := o.checkAmounts(); err != nil {
		return dst, err
	}
	return appendOutcome(dst, o), nil
}

// Hash returns keccak256 of the outcome bytes (0.17.0's outcomeHash).
func (o Outcome) Hash() (Bytes32, error) {
	if err := o.checkAmounts(); err != nil {
		return Bytes32{}, err
	}
	buf := scratch.Get().(*[]byte)
	*buf = appendOutcome((*buf)[:0], o)
	h := keccak(*buf)
	if cap(*buf) <= 64<<10 {
		scratch.Put(buf)
	}
	return h, nil
}

// checkAmounts checks every allocation amount (appendOutcome needs them checked).
func (o Outcome) checkAmounts() error {
	for _, a := range o {
		if a.Guarantee == nil {
			for _, it := range a.Allocation {
				if err := CheckAmount(it.Amount); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// DecodeOutcome parses outcome bytes.
func DecodeOutcome(b []byte) (out Outcome, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%w: %v", ErrBadOutcome, r)
		}
	}()
	vals, err := outcomeArgs.Unpack(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOutcome, err)
	}
	var items []abiOutcomeItem
	if err := outcomeArgs.Copy(&items, vals); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOutcome, err)
	}
	out = make(Outcome, len(items))
	for i, it := range items {
		a, err := DecodeAssetOutcome(it.AssetOutcomeBytes)
		if err != nil {
			return nil, err
		}
		a.AssetHolder = it.AssetHolderAddress
		out[i] = a
	}
	return out, nil
}

// DecodeAssetOutcome parses asset outcome bytes (without the asset holder).
func DecodeAssetOutcome(b []byte) (out AssetOutcome, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = AssetOutcome{}, fmt.Errorf("%w: %v", ErrBadOutcome, r)
		}
	}()
	vals, err := assetOutcomeArgs.Unpack(b)
	if err != nil {
		return AssetOutcome{}, fmt.Errorf("%w: %v", ErrBadOutcome, err)
	}
	// Arguments.Copy assigns a lone argument to the first field of a struct
	// destination, so the tuple is copied through a one-field wrapper.
	var aw struct{ V abiAssetOutcome }
	if err := assetOutcomeArgs.Copy(&aw, vals); err != nil {
		return AssetOutcome{}, fmt.Errorf("%w: %v", ErrBadOutcome, err)
	}
	ao := aw.V
	switch ao.AssetOutcomeType {
	case AllocationType:
		items, err := DecodeAllocation(ao.AllocationOrGuaranteeBytes)
		if err != nil {
			return AssetOutcome{}, err
		}
		return AssetOutcome{Allocation: items}, nil
	case GuaranteeType:
		gv, err := guaranteeArgs.Unpack(ao.AllocationOrGuaranteeBytes)
		if err != nil {
			return AssetOutcome{}, fmt.Errorf("%w: %v", ErrBadOutcome, err)
		}
		var gw struct{ V abiGuarantee }
		if err := guaranteeArgs.Copy(&gw, gv); err != nil {
			return AssetOutcome{}, fmt.Errorf("%w: %v", ErrBadOutcome, err)
		}
		g := gw.V
		ds := make([]Bytes32, len(g.Destinations))
		for i, d := range g.Destinations {
			ds[i] = d
		}
		return AssetOutcome{Guarantee: &Guarantee{TargetChannelID: g.TargetChannelId, Destinations: ds}}, nil
	default:
		return AssetOutcome{}, fmt.Errorf("%w: unknown asset outcome type %d", ErrBadOutcome, ao.AssetOutcomeType)
	}
}

// DecodeAllocation parses abi.encode(AllocationItem[]).
func DecodeAllocation(b []byte) (items []AllocationItem, err error) {
	defer func() {
		if r := recover(); r != nil {
			items, err = nil, fmt.Errorf("%w: %v", ErrBadOutcome, r)
		}
	}()
	vals, err := allocationArgs.Unpack(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOutcome, err)
	}
	var raw []abiAllocationItem
	if err := allocationArgs.Copy(&raw, vals); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadOutcome, err)
	}
	items = make([]AllocationItem, len(raw))
	for i, r := range raw {
		items[i] = AllocationItem{Destination: r.Destination, Amount: r.Amount}
	}
	return items, nil
}

// SignatureDigest returns the eth_sign digest of a state hash:
// keccak256("\x19Ethereum Signed Message:\n32" || stateHash).
func SignatureDigest(stateHash Bytes32) []byte {
	d := signatureDigest(stateHash)
	return d[:]
}

// signatureDigest is accounts.TextHash(stateHash[:]), without its
// fmt.Sprintf and allocations.
func signatureDigest(stateHash Bytes32) Bytes32 {
	return keccakSmall(signedMessagePrefix, stateHash[:])
}

// signedMessagePrefix is eth_sign's prefix for a 32-byte message.
const signedMessagePrefix = "\x19Ethereum Signed Message:\n32"

// ChallengeHash returns keccak256(abi.encode(stateHash, "forceMove")), which a
// challenger signs.
func ChallengeHash(stateHash Bytes32) Bytes32 {
	enc, err := challengeArgs.Pack([32]byte(stateHash), "forceMove")
	if err != nil {
		panic(err) // fixed-size inputs cannot fail to pack
	}
	return crypto.Keccak256Hash(enc)
}

// Bytes returns the 65-byte r || s || v form used on the wire.
func (s Signature) Bytes() []byte {
	out := s.array()
	return out[:]
}

// array is r || s || v in an array (no allocation).
func (s Signature) array() (out [65]byte) {
	copy(out[:], s.R[:])
	copy(out[32:], s.S[:])
	out[64] = s.V
	return out
}

// SignatureFromBytes parses r || s || v with v in {27, 28} (0 and 1 are
// accepted and normalised).
func SignatureFromBytes(b []byte) (Signature, error) {
	if len(b) != 65 {
		return Signature{}, fmt.Errorf("%w: length %d", ErrBadSignature, len(b))
	}
	v := b[64]
	if v < 27 {
		v += 27
	}
	if v != 27 && v != 28 {
		return Signature{}, fmt.Errorf("%w: v = %d", ErrBadSignature, b[64])
	}
	var s Signature
	copy(s.R[:], b[:32])
	copy(s.S[:], b[32:64])
	s.V = v
	return s, nil
}

// RecoverSigner returns the address whose key made sig over stateHash.
func RecoverSigner(stateHash Bytes32, sig Signature) (Address, error) {
	if sig.V != 27 && sig.V != 28 {
		return Address{}, fmt.Errorf("%w: v = %d", ErrBadSignature, sig.V)
	}
	raw := sig.array()
	raw[64] -= 27
	digest := signatureDigest(stateHash)
	// The recovered key in its 65-byte uncompressed form; its address is
	// the last 20 bytes of the keccak of its 64 coordinates bytes
	// (crypto.PubkeyToAddress without parsing the key into big.Ints).
	pub, err := crypto.Ecrecover(digest[:], raw[:])
	if err != nil {
		return Address{}, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	if len(pub) != 65 || pub[0] != 4 {
		return Address{}, fmt.Errorf("%w: recovered a malformed public key", ErrBadSignature)
	}
	h := keccak(pub[1:])
	return Address(h[12:]), nil
}
