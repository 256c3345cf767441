package main

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/nitrowallet/nitrowallet/adapters/ethereum"
	"github.com/nitrowallet/nitrowallet/adapters/keys"
)

const deployUsage = `usage: nitrowallet deploy --chain URL [--key HEX] [--token=false]

Deploys the Nitro 0.17.0 contracts from the npm artifacts (make oracle):
NitroAdjudicator, ETHAssetHolder and, unless --token=false, the test ERC20
Token with an ERC20AssetHolder for it. It prints their addresses as one
JSON object, so several ` + "`nitrowallet serve`" + ` processes can share one chain:

  {"chainId":1337,"adjudicator":"0x…","ethAssetHolder":"0x…",
   "erc20AssetHolders":["0x…"],"token":"0x…","startBlock":3}

The deployer is the key given by --key or $NITROWALLET_KEY (hex; prefer the
environment: a flag shows in the process list); without one, the node's
first unlocked account (geth --dev) funds a fresh deployer key.

Flags:
`

// deployment is what `nitrowallet deploy` prints.
type deployment struct {
	ChainID           uint64           `json:"chainId"`
	Adjudicator       common.Address   `json:"adjudicator"`
	ETHAssetHolder    common.Address   `json:"ethAssetHolder"`
	ERC20AssetHolders []common.Address `json:"erc20AssetHolders"`
	Token             *common.Address  `json:"token,omitempty"`
	StartBlock        uint64           `json:"startBlock"`
}

// deployCommand runs `nitrowallet deploy`.
func deployCommand(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("deploy", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, deployUsage)
		fs.PrintDefaults()
	}
	url := fs.String("chain", os.Getenv("NITROWALLET_CHAIN"), "the node's http(s):// or ws(s):// URL ($NITROWALLET_CHAIN)")
	hexKey := fs.String("key", "", "the deployer's hex private key (default $NITROWALLET_KEY; without either, the node's unlocked account funds a fresh one)")
	token := fs.Bool("token", true, "also deploy the test ERC20 Token and an ERC20AssetHolder for it")
	poll := fs.Duration("poll-interval", 100*time.Millisecond, "how often to ask the node for receipts")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *url == "" {
		return fmt.Errorf("%w: deploy needs --chain URL and no arguments", errServeConfig)
	}
	art, err := ethereum.LoadArtifacts("")
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	if *hexKey == "" {
		*hexKey = os.Getenv(keyEnv)
	}
	n, err := dialNode(ctx, *url, *poll)
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	defer n.Close()
	key, err := deployerKey(ctx, n, *hexKey)
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	d, err := ethereum.Deploy(ctx, n.client, ethereum.KeySigner(key), art, ethereum.DeployOptions{Token: *token, Config: ethereum.Config{PollInterval: *poll}})
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	id, err := n.client.ChainID(ctx)
	if err != nil {
		return fmt.Errorf("deploy: %w", err)
	}
	res := deployment{ChainID: id.Uint64(), Adjudicator: d.Adjudicator, ETHAssetHolder: d.ETHAssetHolder,
		ERC20AssetHolders: append([]common.Address{}, d.ERC20AssetHolders...), StartBlock: d.StartBlock}
	if d.Token != (common.Address{}) {
		res.Token = &d.Token
	}
	return json.NewEncoder(out).Encode(res)
}

// deployerKey is the key given, or a fresh key the node's account funds.
func deployerKey(ctx context.Context, n *devNode, hexKey string) (*ecdsa.PrivateKey, error) {
	if hexKey != "" {
		return keys.ParseHex(hexKey)
	}
	if n.account == (common.Address{}) {
		return nil, errors.New("no --key or $" + keyEnv + ", and the node has no unlocked account to fund a deployer")
	}
	key, err := crypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	if err := n.fund(ctx, crypto.PubkeyToAddress(key.PublicKey), new(big.Int).Mul(big.NewInt(10), big.NewInt(1e18))); err != nil {
		return nil, err
	}
	return key, nil
}
