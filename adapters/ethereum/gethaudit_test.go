package ethereum_test

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// chainAudit is what a run must have left on chain. The sending accounts
// are fresh: funded once with Funded wei before From, with no transaction
// of their own before it.
type chainAudit struct {
	From   uint64 // the first block that can hold the run's transactions
	Funded *big.Int
	// Deposits is each sending account's own share of the channels it
	// funded: what its deposits must have moved, once each.
	Deposits map[common.Address]*big.Int
	// Payouts is each destination's balance once every channel is paid out.
	Payouts map[common.Address]*big.Int
	// Holder is the ETH asset holder; each of Channels must hold nothing.
	Holder   common.Address
	Channels []nitro.Bytes32
}

// auditFigures are what the audit read, for the report.
type auditFigures struct {
	blocks uint64
	txs    map[common.Address]int      // mined transactions per sending account
	fees   map[common.Address]*big.Int // their gas fees
	failed map[common.Address]int      // mined with a failed status
}

var holdingsSelector = crypto.Keccak256([]byte("holdings(bytes32)"))[:4]

// audit checks the chain against a after the run: it waits (up to 20 s)
// for the node's pool to be empty, walks every block from a.From to the
// head and its receipts, and returns a description of every mismatch
// (none: the chain is exactly as the run's outcomes say):
//   - each destination's balance is exactly its payout;
//   - each channel holds 0 at the asset holder;
//   - each sending account spent exactly the fees of its mined
//     transactions plus its own deposits (Funded − balance);
//   - each account's nonce is its number of mined transactions, whose
//     nonces are 0, 1, 2, … without a gap or a repeat;
//   - txpool_status shows nothing pending or queued.
func (g *gethProc) audit(ctx context.Context, a chainAudit) (auditFigures, []string) {
	var bad []string
	figs := auditFigures{txs: map[common.Address]int{}, fees: map[common.Address]*big.Int{}, failed: map[common.Address]int{}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		p, q, err := g.poolStatus(ctx)
		if err == nil && p == 0 && q == 0 {
			break
		}
		if time.Now().After(deadline) {
			bad = append(bad, fmt.Sprintf("txpool: %d pending, %d queued after 20 s (err %v)", p, q, err))
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	head, err := g.head(ctx)
	if err != nil {
		return figs, append(bad, fmt.Sprintf("read head: %v", err))
	}
	id, err := g.client.ChainID(ctx)
	if err != nil {
		return figs, append(bad, fmt.Sprintf("read chain id: %v", err))
	}
	signer := types.LatestSignerForChainID(id)
	nonces := map[common.Address][]uint64{}
	for n := a.From; n <= head; n++ {
		figs.blocks++
		b, err := g.client.BlockByNumber(ctx, new(big.Int).SetUint64(n))
		if err != nil {
			return figs, append(bad, fmt.Sprintf("read block %d: %v", n, err))
		}
		for _, tx := range b.Transactions() {
			from, err := types.Sender(signer, tx)
			if err != nil {
				return figs, append(bad, fmt.Sprintf("sender of %s: %v", tx.Hash(), err))
			}
			if _, ours := a.Deposits[from]; !ours {
				continue
			}
			r, err := g.client.TransactionReceipt(ctx, tx.Hash())
			if err != nil {
				return figs, append(bad, fmt.Sprintf("receipt of %s: %v", tx.Hash(), err))
			}
			fee := new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), r.EffectiveGasPrice)
			if figs.fees[from] == nil {
				figs.fees[from] = new(big.Int)
			}
			figs.fees[from].Add(figs.fees[from], fee)
			figs.txs[from]++
			if r.Status != types.ReceiptStatusSuccessful {
				figs.failed[from]++
			}
			nonces[from] = append(nonces[from], tx.Nonce())
		}
	}
	for acct, deposits := range a.Deposits {
		bal, err := g.client.BalanceAt(ctx, acct, nil)
		if err != nil {
			bad = append(bad, fmt.Sprintf("balance of %s: %v", acct, err))
			continue
		}
		spent := new(big.Int).Sub(a.Funded, bal)
		fees := figs.fees[acct]
		if fees == nil {
			fees = new(big.Int)
		}
		want := new(big.Int).Add(fees, deposits)
		if spent.Cmp(want) != 0 {
			bad = append(bad, fmt.Sprintf("account %s spent %v, want fees %v + deposits %v = %v (off by %v)",
				acct, spent, fees, deposits, want, new(big.Int).Sub(spent, want)))
		}
		nonce, err := g.client.NonceAt(ctx, acct, nil)
		if err != nil {
			bad = append(bad, fmt.Sprintf("nonce of %s: %v", acct, err))
			continue
		}
		ns := nonces[acct]
		slices.Sort(ns)
		if nonce != uint64(len(ns)) {
			bad = append(bad, fmt.Sprintf("account %s: nonce %d, but %d mined transactions", acct, nonce, len(ns)))
		}
		for i, n := range ns {
			if n != uint64(i) {
				bad = append(bad, fmt.Sprintf("account %s: mined nonces %v are not 0..%d", acct, ns, len(ns)-1))
				break
			}
		}
	}
	for dest, want := range a.Payouts {
		got, err := g.client.BalanceAt(ctx, dest, nil)
		if err != nil {
			bad = append(bad, fmt.Sprintf("balance of %s: %v", dest, err))
		} else if got.Cmp(want) != 0 {
			bad = append(bad, fmt.Sprintf("destination %s holds %v, want %v (off by %v)", dest, got, want, new(big.Int).Sub(got, want)))
		}
	}
	for i, ch := range a.Channels {
		out, err := g.client.CallContract(ctx, ethereum.CallMsg{To: &a.Holder, Data: append(slices.Clone(holdingsSelector), ch[:]...)}, nil)
		if err != nil {
			bad = append(bad, fmt.Sprintf("holdings of channel %d: %v", i, err))
		} else if h := new(big.Int).SetBytes(out); h.Sign() != 0 {
			bad = append(bad, fmt.Sprintf("channel %d (%s) still holds %v", i, ch, h))
		}
	}
	return figs, bad
}

// String is one line of the audit's figures.
func (f auditFigures) String() string {
	var parts []string
	for a, n := range f.txs {
		parts = append(parts, fmt.Sprintf("%s…: %d txs (%d failed), fees %v", a.Hex()[:8], n, f.failed[a], f.fees[a]))
	}
	slices.Sort(parts)
	return fmt.Sprintf("%d blocks; %s", f.blocks, strings.Join(parts, "; "))
}
