package ethereum

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"strings"
	"syscall"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/nitrowallet/nitrowallet/ports"
)

// Client is the part of a go-ethereum client the adapter uses. Both
// ethclient/simulated's Client and *ethclient.Client (ethclient.Dial(url))
// satisfy it.
type Client interface {
	ethereum.BlockNumberReader
	ethereum.ChainIDReader
	ethereum.ContractCaller
	ethereum.GasEstimator
	ethereum.LogFilterer
	ethereum.TransactionReader
	ethereum.TransactionSender
	HeaderByNumber(ctx context.Context, number *big.Int) (*types.Header, error)
	BalanceAt(ctx context.Context, account common.Address, blockNumber *big.Int) (*big.Int, error)
	CodeAt(ctx context.Context, account common.Address, blockNumber *big.Int) ([]byte, error)
	NonceAt(ctx context.Context, account common.Address, blockNumber *big.Int) (uint64, error)
	PendingNonceAt(ctx context.Context, account common.Address) (uint64, error)
	SuggestGasTipCap(ctx context.Context) (*big.Int, error)
}

// TxSigner signs the adapter's transactions. KeySigner wraps a private key;
// a hardware or remote signer can implement it too.
type TxSigner interface {
	// Address is the account transactions are sent from.
	Address() common.Address
	// SignTx signs tx for chainID.
	SignTx(tx *types.Transaction, chainID *big.Int) (*types.Transaction, error)
}

// KeySigner returns a TxSigner holding key in memory.
func KeySigner(key *ecdsa.PrivateKey) TxSigner {
	return keySigner{key: key, addr: crypto.PubkeyToAddress(key.PublicKey)}
}

type keySigner struct {
	key  *ecdsa.PrivateKey
	addr common.Address
}

func (s keySigner) Address() common.Address { return s.addr }

func (s keySigner) SignTx(tx *types.Transaction, chainID *big.Int) (*types.Transaction, error) {
	return types.SignTx(tx, types.LatestSignerForChainID(chainID), s.key)
}

// Revert reasons the adapter reports besides those named in ports.
const (
	// ReasonERC20Balance is the OpenZeppelin ERC20's reason when the
	// depositor lacks tokens; the adapter's error then also matches
	// ports.ErrInsufficientFunds.
	ReasonERC20Balance = "ERC20: transfer amount exceeds balance"
)

// classify maps a client error to the ports errors: a revert becomes a
// *ports.RevertError carrying the decoded reason, a balance shortfall wraps
// ports.ErrInsufficientFunds and a transport failure wraps
// ports.ErrUnavailable. Other errors (context ends included) are wrapped
// unchanged.
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("ethereum: %s: %w", op, err)
	}
	if reason, ok := revertReason(err); ok {
		return revertError(op, reason)
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "insufficient funds"):
		return fmt.Errorf("ethereum: %s: %v: %w", op, err, ports.ErrInsufficientFunds)
	case isTransportError(err):
		return fmt.Errorf("ethereum: %s: %v: %w", op, err, ports.ErrUnavailable)
	}
	return fmt.Errorf("ethereum: %s: %w", op, err)
}

// revertError builds the error of a revert with reason.
func revertError(op, reason string) error {
	rev := &ports.RevertError{Reason: reason}
	if reason == ReasonERC20Balance {
		return fmt.Errorf("ethereum: %s: %w (%w)", op, rev, ports.ErrInsufficientFunds)
	}
	return fmt.Errorf("ethereum: %s: %w", op, rev)
}

// revertReason extracts a revert reason from a node's error: the ABI-encoded
// Error(string) in the JSON-RPC error data, or the "execution reverted"
// message when there is no data.
func revertReason(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	var de rpc.DataError
	if errors.As(err, &de) {
		if s, ok := de.ErrorData().(string); ok {
			if data, derr := hexutil.Decode(s); derr == nil {
				if reason, uerr := abi.UnpackRevert(data); uerr == nil {
					return reason, true
				}
				if len(data) == 0 || strings.Contains(de.Error(), "execution reverted") {
					return "", true
				}
			}
		}
	}
	msg := err.Error()
	if i := strings.Index(msg, "execution reverted"); i >= 0 {
		rest := strings.TrimPrefix(msg[i+len("execution reverted"):], ":")
		return strings.TrimSpace(rest), true
	}
	return "", false
}

// isTransportError reports whether err means the node could not be reached
// (or answered with a server error), as opposed to refusing the request.
func isTransportError(err error) bool {
	var (
		netErr  net.Error
		urlErr  *url.Error
		opErr   *net.OpError
		httpErr rpc.HTTPError
	)
	switch {
	case errors.Is(err, ports.ErrUnavailable),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, rpc.ErrClientQuit), errors.Is(err, net.ErrClosed):
		return true
	case errors.As(err, &opErr), errors.As(err, &urlErr), errors.As(err, &netErr):
		return true
	case errors.As(err, &httpErr):
		return httpErr.StatusCode >= 500 || httpErr.StatusCode == 429
	}
	msg := err.Error()
	return strings.Contains(msg, "connection refused") || strings.Contains(msg, "connection reset")
}
