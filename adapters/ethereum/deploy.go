package ethereum

import (
	"context"
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
)

// Deployment is a freshly deployed set of contracts: the Nitro 0.17.0
// deployment and, if asked for, the package's test Token behind the ERC20
// asset holder.
type Deployment struct {
	Contracts
	// Token is the test ERC20 token (zero without DeployOptions.Token).
	Token common.Address
}

// ERC20AssetHolder returns the deployment's first ERC20 asset holder (zero
// if it has none).
func (d Deployment) ERC20AssetHolder() common.Address {
	if len(d.ERC20AssetHolders) == 0 {
		return common.Address{}
	}
	return d.ERC20AssetHolders[0]
}

// DeployOptions tunes Deploy.
type DeployOptions struct {
	// Token also deploys the test Token, minting its whole supply
	// (10,000,000,000 units) to the deployer, and an ERC20AssetHolder for it.
	Token bool
	// Config supplies the transaction settings (PollInterval, OnTx, ...);
	// its Client, Signer and Contracts are ignored.
	Config Config
}

// Deploy deploys NitroAdjudicator and ETHAssetHolder(adjudicator) from the
// artifacts' bytecode, sending from signer; with opts.Token also Token(signer)
// and ERC20AssetHolder(adjudicator, token). Contracts.StartBlock is the
// adjudicator's block.
func Deploy(ctx context.Context, client Client, signer TxSigner, art *Artifacts, opts DeployOptions) (Deployment, error) {
	if art == nil {
		return Deployment{}, errors.New("ethereum: Deploy needs the artifacts (LoadArtifacts)")
	}
	cfg := opts.Config
	cfg.setDefaults()
	id, err := client.ChainID(ctx)
	if err != nil {
		return Deployment{}, classify("read chain id", err)
	}
	life, stop := context.WithCancel(context.Background())
	s := &sender{client: client, signer: signer, chainID: id, cfg: &cfg, life: life}
	defer func() {
		stop()
		s.wg.Wait()
	}()
	deploy := func(a Artifact, args ...any) (common.Address, uint64, error) {
		ctor, err := a.ABI.Pack("", args...)
		if err != nil {
			return common.Address{}, 0, fmt.Errorf("ethereum: deploy %s: %w", a.Name, err)
		}
		code := append(append([]byte(nil), a.Bytecode...), ctor...)
		_, rcpt, err := s.transact(ctx, call{kind: "deploy " + a.Name, value: new(big.Int), data: code})
		if err != nil {
			return common.Address{}, 0, err
		}
		return rcpt.ContractAddress, rcpt.BlockNumber.Uint64(), nil
	}
	var d Deployment
	if d.Adjudicator, d.StartBlock, err = deploy(art.NitroAdjudicator); err != nil {
		return Deployment{}, err
	}
	if d.ETHAssetHolder, _, err = deploy(art.ETHAssetHolder, d.Adjudicator); err != nil {
		return Deployment{}, err
	}
	if !opts.Token {
		return d, nil
	}
	if d.Token, _, err = deploy(art.Token, signer.Address()); err != nil {
		return Deployment{}, err
	}
	holder, _, err := deploy(art.ERC20AssetHolder, d.Adjudicator, d.Token)
	if err != nil {
		return Deployment{}, err
	}
	d.ERC20AssetHolders = []common.Address{holder}
	return d, nil
}
