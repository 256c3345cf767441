package main

import (
	"context"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
)

// devNode is a development node (geth --dev) over JSON-RPC whose first
// account is unlocked and funded: it pays for what the demo and `nitrowallet
// deploy` need without a key of theirs.
type devNode struct {
	rpc     *rpc.Client
	client  *ethclient.Client
	account common.Address // the node's first account
	poll    time.Duration
}

// dialDevNode connects to the node at url and finds its unlocked account.
func dialDevNode(ctx context.Context, url string, poll time.Duration) (*devNode, error) {
	n, err := dialNode(ctx, url, poll)
	if err != nil {
		return nil, err
	}
	if n.account == (common.Address{}) {
		n.Close()
		return nil, fmt.Errorf("%s has no unlocked account to pay from (run geth --dev)", url)
	}
	return n, nil
}

// dialNode connects to the node at url; account is its first unlocked
// account, or zero if it has none.
func dialNode(ctx context.Context, url string, poll time.Duration) (*devNode, error) {
	rc, err := rpc.DialContext(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	n := &devNode{rpc: rc, client: ethclient.NewClient(rc), poll: poll}
	if _, err := n.client.ChainID(ctx); err != nil {
		rc.Close()
		return nil, fmt.Errorf("%s does not answer: %w", url, err)
	}
	var accounts []common.Address
	if err := rc.CallContext(ctx, &accounts, "eth_accounts"); err == nil && len(accounts) > 0 {
		n.account = accounts[0]
	}
	return n, nil
}

// Close closes the connection.
func (n *devNode) Close() { n.rpc.Close() }

// send has the node's account send tx and waits until it is mined.
func (n *devNode) send(ctx context.Context, what string, tx map[string]any) (*types.Receipt, error) {
	tx["from"] = n.account
	var h common.Hash
	if err := n.rpc.CallContext(ctx, &h, "eth_sendTransaction", tx); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	for {
		if r, err := n.client.TransactionReceipt(ctx, h); err == nil {
			if r.Status != types.ReceiptStatusSuccessful {
				return nil, fmt.Errorf("%s: tx %s failed", what, h.Hex())
			}
			return r, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(n.poll):
		}
	}
}

// fund sends wei from the node's account to addr and waits until it is mined.
func (n *devNode) fund(ctx context.Context, addr common.Address, wei *big.Int) error {
	_, err := n.send(ctx, "fund "+addr.Hex(), map[string]any{"to": addr, "value": (*hexutil.Big)(wei)})
	return err
}

// deploy deploys a as is (no constructor arguments) from the node's account.
func (n *devNode) deploy(ctx context.Context, a ethereum.Artifact) (common.Address, error) {
	r, err := n.send(ctx, "deploy "+a.Name, map[string]any{"data": hexutil.Bytes(a.Bytecode)})
	if err != nil {
		return common.Address{}, err
	}
	return r.ContractAddress, nil
}
