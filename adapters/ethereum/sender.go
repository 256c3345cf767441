package ethereum

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"

	"github.com/nitrowallet/nitrowallet/ports"
)

// TxInfo describes a transaction of the adapter once it is mined (or once
// the adapter gives up on it); Config.OnTx receives one per transaction.
type TxInfo struct {
	// Kind is what the transaction does: "deposit", "approve", "conclude",
	// "fill" (a 0-value transfer to self taking a nonce the node lost or
	// an earlier process left stuck, so later ones can be mined), or, from
	// DevChain and Deploy, "deploy <contract>", "fund", "mint".
	Kind string
	// Hash is the mined transaction (the last resubmission, if any).
	Hash  common.Hash
	From  common.Address
	Nonce uint64
	// Block and GasUsed come from the receipt; zero if never mined.
	Block   uint64
	GasUsed uint64
	// Fee is GasUsed times the effective gas price, in wei.
	Fee *big.Int
	// Resubmissions counts fee bumps of a stuck transaction.
	Resubmissions int
	// Err is nil when the transaction succeeded.
	Err error
}

// call is one transaction to make.
type call struct {
	kind  string
	to    *common.Address // nil creates a contract
	value *big.Int
	data  []byte
}

func (c call) msg(from common.Address) ethereum.CallMsg {
	return ethereum.CallMsg{From: from, To: c.to, Value: c.value, Data: c.data}
}

// sender sends one account's transactions. Its nonce manager hands out
// nonces locally, so many transactions can be in flight at once, and sends
// them in nonce order; a tracker per transaction waits for its receipt and
// resubmits it with higher fees when it is stuck.
type sender struct {
	client  Client
	signer  TxSigner
	chainID *big.Int
	cfg     *Config

	mu     sync.Mutex // held while a nonce is assigned and its tx is sent
	next   uint64
	synced bool
	// owned are the nonces of transactions a tracker still follows: a
	// nonce has one owner, so a re-read of the node's nonce (which may
	// have forgotten them) never hands one out again.
	owned map[uint64]struct{}
	// minTip is the least tip the node has said it accepts (its pool's
	// price limit, above what it suggests), once it has refused one.
	minTip atomic.Pointer[big.Int]

	life context.Context // ends at Close; trackers live until then
	wg   sync.WaitGroup
	// mined, if set, is called when a transaction's receipt is found.
	mined func()
}

// txResult is what a tracker reports to the caller waiting on it.
type txResult struct {
	receipt *types.Receipt
	err     error
}

// transact estimates, signs, sends and tracks c, and waits until it is
// mined. It returns the transaction hash (also on most errors), the
// receipt, and an error classified as the ports errors: a revert in the
// estimate or in the block is a *ports.RevertError, an unreachable node
// ports.ErrUnavailable. When the caller stops waiting (ctx, or the node
// stops answering receipts) the tracker keeps following the transaction,
// resubmitting it if stuck, until it is mined or the chain is closed.
func (s *sender) transact(ctx context.Context, c call) (common.Hash, *types.Receipt, error) {
	from := s.signer.Address()
	est, err := s.client.EstimateGas(ctx, c.msg(from))
	if err != nil {
		return common.Hash{}, nil, classify(c.kind, err)
	}
	gas := est + est*s.cfg.GasMarginPercent/100
	tip, feeCap, err := s.fees(ctx)
	if err != nil {
		return common.Hash{}, nil, err
	}
	if s.cfg.firstFeeCap != nil {
		feeCap = s.cfg.firstFeeCap(feeCap)
		tip = minBig(tip, feeCap)
	}
	tx, err := s.sendNew(ctx, c, gas, tip, feeCap)
	if err != nil {
		return common.Hash{}, nil, err
	}
	res := make(chan txResult, 1)
	s.wg.Add(1)
	go s.track(c, tx, res)
	wait := time.NewTimer(s.cfg.ReceiptWait)
	defer wait.Stop()
	select {
	case r := <-res:
		h := tx.Hash()
		if r.receipt != nil {
			h = r.receipt.TxHash
		}
		return h, r.receipt, r.err
	case <-ctx.Done():
		return tx.Hash(), nil, fmt.Errorf("ethereum: %s %s not mined yet: %w", c.kind, tx.Hash(), ctx.Err())
	case <-wait.C:
		// The tracker goes on following it (and resubmits it if stuck).
		return tx.Hash(), nil, fmt.Errorf("ethereum: %s %s after %v: %w", c.kind, tx.Hash(), s.cfg.ReceiptWait, ErrNotMined)
	}
}

// fees suggests an EIP-1559 tip and fee cap: the node's tip and twice the
// head's base fee plus the tip.
func (s *sender) fees(ctx context.Context) (tip, feeCap *big.Int, err error) {
	tip, err = s.client.SuggestGasTipCap(ctx)
	if err != nil {
		return nil, nil, classify("suggest gas tip", err)
	}
	head, err := s.client.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, nil, classify("read head", err)
	}
	if least := s.minTip.Load(); least != nil && tip.Cmp(least) < 0 {
		tip = new(big.Int).Set(least)
	}
	feeCap = new(big.Int).Set(tip)
	if head.BaseFee != nil {
		feeCap.Add(feeCap, new(big.Int).Mul(head.BaseFee, big.NewInt(2)))
	}
	return tip, feeCap, nil
}

// sendNew assigns the next nonce to c and sends it. The nonce is used only
// if the node accepts the transaction; after a transport failure (the node
// may or may not have it) the next nonce is read from the node again.
func (s *sender) sendNew(ctx context.Context, c call, gas uint64, tip, feeCap *big.Int) (*types.Transaction, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 0; ; attempt++ {
		if !s.synced {
			n, err := s.client.PendingNonceAt(ctx, s.signer.Address())
			if err != nil {
				return nil, classify("read nonce", err)
			}
			for k := range s.owned {
				n = max(n, k+1)
			}
			s.next, s.synced = n, true
		}
		tx, err := s.signer.SignTx(types.NewTx(&types.DynamicFeeTx{
			ChainID: s.chainID, Nonce: s.next, GasTipCap: tip, GasFeeCap: feeCap,
			Gas: gas, To: c.to, Value: c.value, Data: c.data,
		}), s.chainID)
		if err != nil {
			return nil, fmt.Errorf("ethereum: sign %s: %w", c.kind, err)
		}
		err = s.client.SendTransaction(ctx, tx)
		switch {
		case err == nil, isAlreadyKnown(err):
			s.own(s.next) // released when its tracker ends
			s.next++
			return tx, nil
		case isNonceConflict(err) && attempt < 3:
			// Another sender used the account, or the node forgot a
			// transaction: start again from the node's view.
			s.synced = false
			continue
		case attempt < 3:
			// The node wants a higher tip than it suggests (its pool's
			// price limit): pay what it asks, now and from now on.
			if least, ok := tipDemanded(err); ok && least.Cmp(tip) > 0 {
				s.minTip.Store(least)
				feeCap = new(big.Int).Add(feeCap, new(big.Int).Sub(least, tip))
				tip = least
				continue
			}
		}
		cerr := classify("send "+c.kind, err)
		if errors.Is(cerr, ports.ErrUnavailable) {
			s.synced = false
		}
		return nil, cerr
	}
}

// release gives up the ownership of a nonce whose tracker has ended.
func (s *sender) release(nonce uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.owned, nonce)
}

func isAlreadyKnown(err error) bool {
	return strings.Contains(err.Error(), "already known")
}

// tipDemandedRE matches geth's refusal of a tip below its pool's price
// limit: "transaction gas price below minimum: gas tip cap 1, minimum
// needed 1000000000".
var tipDemandedRE = regexp.MustCompile(`gas price below minimum: gas tip cap \d+, minimum needed (\d+)`)

// tipDemanded returns the least tip a node's refusal asks for.
func tipDemanded(err error) (*big.Int, bool) {
	m := tipDemandedRE.FindStringSubmatch(err.Error())
	if m == nil {
		return nil, false
	}
	return new(big.Int).SetString(m[1], 10)
}

func isNonceConflict(err error) bool {
	return strings.Contains(err.Error(), "nonce too low") || isUnderpricedReplacement(err)
}

// isUnderpricedReplacement: the pool holds a transaction at the nonce
// that pays more than 10% less than this one would have to.
func isUnderpricedReplacement(err error) bool {
	return strings.Contains(err.Error(), "replacement transaction underpriced")
}

// track follows tx until one of its versions is mined, resubmitting it with
// bumped fees when it is stuck, and reports to res once: the receipt, or
// the error that ended the wait.
func (s *sender) track(c call, tx *types.Transaction, res chan<- txResult) {
	defer s.wg.Done()
	ctx := s.life
	cfg := s.cfg
	versions := []*types.Transaction{tx}
	reported := false
	report := func(r txResult) {
		if !reported {
			reported = true
			res <- r
		}
	}
	info := TxInfo{Kind: c.kind, Hash: tx.Hash(), From: s.signer.Address(), Nonce: tx.Nonce()}
	// end is the tracker's last word. It gives the nonce up before anyone
	// hears of the outcome: a caller that goes on at once (a rollback then
	// drops the mined transaction, and the next one reads the node's
	// nonce again) must not find it still owned and skip past it, leaving
	// a gap that holds its transaction back until the stuck timeout.
	end := func(r txResult) {
		s.release(tx.Nonce())
		s.observe(info)
		if r.receipt != nil && s.mined != nil {
			s.mined()
		}
		report(r)
	}
	sentHead, herr := s.client.BlockNumber(ctx)
	headKnown := herr == nil
	sentAt := time.Now()
	failures, consumed := 0, 0
	for {
		rcpt, err := s.findReceipt(ctx, versions)
		if rcpt != nil {
			info.Hash, info.Block, info.GasUsed = rcpt.TxHash, rcpt.BlockNumber.Uint64(), rcpt.GasUsed
			info.Fee = new(big.Int).Mul(new(big.Int).SetUint64(rcpt.GasUsed), rcpt.EffectiveGasPrice)
			if rcpt.Status != types.ReceiptStatusSuccessful {
				info.Err = s.failure(ctx, c, rcpt, versions[len(versions)-1])
			}
			end(txResult{receipt: rcpt, err: info.Err})
			return
		}
		if err != nil {
			failures++
			if failures >= cfg.UnavailableAfter {
				// Stop holding the caller; keep following the transaction.
				report(txResult{err: fmt.Errorf("ethereum: %s %s: waiting for receipt: %w", c.kind, tx.Hash(), err)})
			}
		} else {
			failures = 0
			head, herr := s.client.BlockNumber(ctx)
			if herr == nil && (!headKnown || head < sentHead) {
				// Unknown yet, or the node came back lower (killed,
				// rewound): count the blocks from its new head.
				sentHead, headKnown = head, true
			}
			if herr == nil && (head >= sentHead+cfg.StuckBlocks || time.Since(sentAt) >= cfg.StuckTimeout) {
				mined, nerr := s.client.NonceAt(ctx, s.signer.Address(), nil)
				switch {
				case nerr != nil:
				case mined > tx.Nonce():
					// The nonce is used; give the receipt a few polls to
					// show up, then conclude another transaction took it.
					if consumed++; consumed > 3 {
						info.Err = fmt.Errorf("ethereum: %s: nonce %d: %w", c.kind, tx.Nonce(), ErrTxReplaced)
						end(txResult{err: info.Err})
						return
					}
				default:
					if mined < tx.Nonce() {
						// Nonces below ours that nobody sends hold it back.
						s.fillGaps(ctx, mined, tx.Nonce())
					}
					if next, rerr := s.resubmit(ctx, versions[len(versions)-1]); rerr == nil {
						versions = append(versions, next)
						info.Resubmissions++
						sentHead, sentAt = head, time.Now()
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			info.Err = fmt.Errorf("ethereum: %s %s: chain closed before it was mined: %w", c.kind, tx.Hash(), ports.ErrUnavailable)
			end(txResult{err: info.Err})
			return
		case <-time.After(cfg.PollInterval):
		}
	}
}

// findReceipt returns the receipt of whichever version was mined, if any.
func (s *sender) findReceipt(ctx context.Context, versions []*types.Transaction) (*types.Receipt, error) {
	for i := len(versions) - 1; i >= 0; i-- {
		r, err := s.client.TransactionReceipt(ctx, versions[i].Hash())
		if err == nil {
			return r, nil
		}
		if !receiptNotYet(err) {
			return nil, classify("read receipt", err)
		}
	}
	return nil, nil
}

// receiptNotYet reports a receipt the node cannot give yet: not found, or
// a node still indexing its transactions (geth answers "transaction
// indexing is in progress" for a while after it starts), which the next
// poll asks again.
func receiptNotYet(err error) bool {
	return errors.Is(err, ethereum.NotFound) || strings.Contains(err.Error(), "transaction indexing is in progress")
}

// resubmit replaces a stuck transaction by the same one, same nonce, with
// fees raised by FeeBumpPercent (or to the current suggestion if higher).
func (s *sender) resubmit(ctx context.Context, old *types.Transaction) (*types.Transaction, error) {
	tip, feeCap, err := s.fees(ctx)
	if err != nil {
		return nil, err
	}
	bump := func(x *big.Int) *big.Int {
		b := new(big.Int).Mul(x, big.NewInt(int64(100+s.cfg.FeeBumpPercent)))
		return b.Div(b, big.NewInt(100)).Add(b, big.NewInt(1))
	}
	tip = maxBig(tip, bump(old.GasTipCap()))
	feeCap = maxBig(maxBig(feeCap, bump(old.GasFeeCap())), tip)
	tx, err := s.signer.SignTx(types.NewTx(&types.DynamicFeeTx{
		ChainID: s.chainID, Nonce: old.Nonce(), GasTipCap: tip, GasFeeCap: feeCap,
		Gas: old.Gas(), To: old.To(), Value: old.Value(), Data: old.Data(),
	}), s.chainID)
	if err != nil {
		return nil, err
	}
	if err := s.client.SendTransaction(ctx, tx); err != nil && !isAlreadyKnown(err) {
		return nil, classify("resubmit", err)
	}
	return tx, nil
}

// failure explains a transaction mined with a failed status: it replays the
// call on the state after its block, which reproduces the revert reason
// of the usual races (the holdings changed, the channel was finalized).
func (s *sender) failure(ctx context.Context, c call, rcpt *types.Receipt, tx *types.Transaction) error {
	where := fmt.Sprintf("%s %s failed in block %d", c.kind, rcpt.TxHash, rcpt.BlockNumber)
	if rcpt.GasUsed >= tx.Gas() {
		return fmt.Errorf("ethereum: %s: out of gas: %w", where, &ports.RevertError{Reason: "out of gas"})
	}
	msg := c.msg(s.signer.Address())
	msg.Gas = tx.Gas()
	// The replay may succeed (the block's state is not the one the
	// transaction met, e.g. a rewind put another block at its height):
	// the reason is then unknown.
	_, err := s.client.CallContract(ctx, msg, rcpt.BlockNumber)
	if reason, ok := revertReason(err); ok {
		return revertError(where, reason)
	}
	return fmt.Errorf("ethereum: %s: %w", where, &ports.RevertError{})
}

func (s *sender) observe(info TxInfo) {
	if s.cfg.OnTx != nil {
		s.cfg.OnTx(info)
	}
}

func maxBig(a, b *big.Int) *big.Int {
	if a.Cmp(b) >= 0 {
		return a
	}
	return b
}

func minBig(a, b *big.Int) *big.Int {
	if a.Cmp(b) <= 0 {
		return a
	}
	return b
}
