package ethereum

import (
	"context"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
)

// DeployApp deploys an app from its artifact (the npm package's apps take
// no constructor arguments, see LoadAppArtifacts), sending from the
// faucet, and returns its address once the deployment is mined.
func (d *DevChain) DeployApp(ctx context.Context, a Artifact) (common.Address, error) {
	if len(a.Bytecode) == 0 {
		return common.Address{}, fmt.Errorf("ethereum: deploy %s: no bytecode", a.Name)
	}
	_, rcpt, err := d.faucet.transact(ctx, call{kind: "deploy " + a.Name, value: new(big.Int), data: a.Bytecode})
	if err != nil {
		return common.Address{}, err
	}
	return rcpt.ContractAddress, nil
}
