package ethereum

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

// ArtifactsEnv names the environment variable that may point at the
// artifacts folder (…/@statechannels/nitro-protocol/lib/artifacts) instead
// of the pinned npm project in tools/oracle.
const ArtifactsEnv = "NITRO_ARTIFACTS"

// ArtifactsHint tells what to do when the contract artifacts are missing.
const ArtifactsHint = "the Nitro 0.17.0 contract artifacts are missing: run `make oracle` (npm ci in tools/oracle), or set " + ArtifactsEnv

// oracleArtifacts is where the pinned npm project keeps the artifacts,
// relative to the module root.
var oracleArtifacts = filepath.Join("tools", "oracle", "node_modules", "@statechannels", "nitro-protocol", "lib", "artifacts")

// Artifact is one compiled contract from the npm package: its ABI, its
// creation bytecode and its runtime bytecode. It is read at run time and
// never committed.
type Artifact struct {
	Name     string
	ABI      abi.ABI
	Bytecode []byte
	// Runtime is the artifact's deployedBytecode: the code a deployment
	// leaves at its address, for a contract that is neither a library nor
	// has immutables (whose deployed code differs from it; none of the
	// npm apps is or has either). Empty if the artifact does not carry it.
	Runtime []byte
}

// Artifacts are the contracts the wallet deploys: the Nitro 0.17.0
// adjudicator and asset holders, plus the package's test ERC20 Token.
type Artifacts struct {
	NitroAdjudicator Artifact
	ETHAssetHolder   Artifact
	ERC20AssetHolder Artifact
	Token            Artifact
}

// FindArtifacts returns the artifacts folder: $NITRO_ARTIFACTS if set,
// otherwise tools/oracle/… under the first ancestor of the working
// directory that holds it (so tests and `go run` from the module work).
func FindArtifacts() (string, error) {
	if dir := os.Getenv(ArtifactsEnv); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return "", fmt.Errorf("%s=%s: %w", ArtifactsEnv, dir, err)
		}
		return dir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		cand := filepath.Join(dir, oracleArtifacts)
		if st, err := os.Stat(cand); err == nil && st.IsDir() {
			return cand, nil
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return "", fmt.Errorf("%s (looked in %s)", ArtifactsHint, cand)
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("%s (no tools/oracle above %s)", ArtifactsHint, wd)
		}
	}
}

// LoadArtifacts reads the four contracts from an artifacts folder (see
// FindArtifacts). An empty dir means FindArtifacts().
func LoadArtifacts(dir string) (*Artifacts, error) {
	var a Artifacts
	if err := readArtifacts(dir, []artifactFile{
		{&a.NitroAdjudicator, "contracts/NitroAdjudicator.sol/NitroAdjudicator.json"},
		{&a.ETHAssetHolder, "contracts/ETHAssetHolder.sol/ETHAssetHolder.json"},
		{&a.ERC20AssetHolder, "contracts/ERC20AssetHolder.sol/ERC20AssetHolder.json"},
		{&a.Token, "contracts/Token.sol/Token.json"},
	}); err != nil {
		return nil, err
	}
	return &a, nil
}

// artifactFile is one artifact to read: its path in the artifacts folder
// and where to put it.
type artifactFile struct {
	dst  *Artifact
	path string
}

// readArtifacts reads files from dir ("" means FindArtifacts()).
func readArtifacts(dir string, files []artifactFile) error {
	if dir == "" {
		var err error
		if dir, err = FindArtifacts(); err != nil {
			return err
		}
	}
	for _, f := range files {
		art, err := readArtifact(filepath.Join(dir, filepath.FromSlash(f.path)))
		if err != nil {
			return err
		}
		*f.dst = art
	}
	return nil
}

func readArtifact(path string) (Artifact, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Artifact{}, fmt.Errorf("%s: %w", ArtifactsHint, err)
	}
	if err != nil {
		return Artifact{}, err
	}
	var j struct {
		ContractName string          `json:"contractName"`
		ABI          json.RawMessage `json:"abi"`
		Bytecode     string          `json:"bytecode"`
		Deployed     string          `json:"deployedBytecode"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return Artifact{}, fmt.Errorf("artifact %s: %w", path, err)
	}
	parsed, err := abi.JSON(strings.NewReader(string(j.ABI)))
	if err != nil {
		return Artifact{}, fmt.Errorf("artifact %s: abi: %w", path, err)
	}
	code, err := hexutil.Decode(j.Bytecode)
	if err != nil || len(code) == 0 {
		return Artifact{}, fmt.Errorf("artifact %s: bytecode: %v", path, err)
	}
	var runtime []byte
	if j.Deployed != "" {
		if runtime, err = hexutil.Decode(j.Deployed); err != nil {
			return Artifact{}, fmt.Errorf("artifact %s: deployedBytecode: %w", path, err)
		}
	}
	return Artifact{Name: j.ContractName, ABI: parsed, Bytecode: code, Runtime: runtime}, nil
}

// AppArtifacts are the ForceMove apps the npm package ships: TrivialApp
// and CountingApp (test apps) and the SingleAssetPayments and
// HashLockedSwap examples. None takes constructor arguments.
type AppArtifacts struct {
	TrivialApp          Artifact
	CountingApp         Artifact
	SingleAssetPayments Artifact
	HashLockedSwap      Artifact
}

// LoadAppArtifacts reads the four apps from an artifacts folder (see
// FindArtifacts). An empty dir means FindArtifacts().
func LoadAppArtifacts(dir string) (*AppArtifacts, error) {
	var a AppArtifacts
	if err := readArtifacts(dir, []artifactFile{
		{&a.TrivialApp, "contracts/TrivialApp.sol/TrivialApp.json"},
		{&a.CountingApp, "contracts/CountingApp.sol/CountingApp.json"},
		{&a.SingleAssetPayments, "contracts/examples/SingleAssetPayments.sol/SingleAssetPayments.json"},
		{&a.HashLockedSwap, "contracts/examples/HashLockedSwap.sol/HashLockedSwap.json"},
	}); err != nil {
		return nil, err
	}
	return &a, nil
}
