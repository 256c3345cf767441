package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/internal/wireschema"
)

// messageSchema compiles the published schema's Message definition (draft 7).
func messageSchema(tb testing.TB) *jsonschema.Schema {
	tb.Helper()
	sch, err := wireschema.Message()
	if err != nil {
		tb.Fatalf("wire-format schema: %v", err)
	}
	return sch
}

// schemaCheck validates raw JSON against the Message schema. It returns
// errNotJSON when b is not a single JSON value.
func schemaCheck(tb testing.TB, b []byte) error {
	tb.Helper()
	sch := messageSchema(tb)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%w: %v", errNotJSON, err)
	}
	return sch.Validate(inst)
}

var errNotJSON = fmt.Errorf("not JSON")

func mustSchemaValid(tb testing.TB, b []byte) {
	tb.Helper()
	if err := schemaCheck(tb, b); err != nil {
		tb.Fatalf("emitted message fails the wire-format schema: %v\n%s", err, b)
	}
}

// samples holds the wire-format package's own sample messages.
type samples struct {
	Good map[string]json.RawMessage `json:"good"`
	Bad  map[string]json.RawMessage `json:"bad"`
}

var (
	samplesOnce sync.Once
	samplesVal  samples
	samplesErr  error
)

// loadSamples requires the package's good and bad sample modules with node
// and returns their exports as JSON (undefined fields are dropped, exactly as
// a JSON transport would).
func loadSamples(tb testing.TB) samples {
	tb.Helper()
	samplesOnce.Do(func() {
		dir, err := wireSamplesDir()
		if err != nil {
			samplesErr = err
			return
		}
		good, bad := filepath.Join(dir, "good_sample_messages.js"), filepath.Join(dir, "bad_sample_messages.js")
		for _, p := range []string{good, bad} {
			if _, err := os.Stat(p); err != nil {
				samplesErr = fmt.Errorf("%s: %v", wireschema.Hint, err)
				return
			}
		}
		node, err := exec.LookPath("node")
		if err != nil {
			samplesErr = fmt.Errorf("node (Node.js) is needed to load the wire-format samples; install it and run `make oracle`: %v", err)
			return
		}
		const script = `process.stdout.write(JSON.stringify({good: require(process.argv[1]), bad: require(process.argv[2])}))`
		cmd := exec.Command(node, "-e", script, good, bad)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			samplesErr = fmt.Errorf("node failed (%v): %s", err, stderr.String())
			return
		}
		samplesErr = json.Unmarshal(out, &samplesVal)
	})
	if samplesErr != nil {
		tb.Fatalf("loading wire-format samples: %v", samplesErr)
	}
	return samplesVal
}

// diff returns "" when a and b are deeply equal, treating nil and empty
// slices alike and comparing *big.Int by value; otherwise it describes the
// first difference.
func diff(a, b any) string { return diffValue("", reflect.ValueOf(a), reflect.ValueOf(b)) }

var bigIntType = reflect.TypeOf((*big.Int)(nil))

func diffValue(path string, a, b reflect.Value) string {
	if a.Type() != b.Type() {
		return fmt.Sprintf("%s: type %s vs %s", path, a.Type(), b.Type())
	}
	if a.Type() == bigIntType {
		x, y := a.Interface().(*big.Int), b.Interface().(*big.Int)
		if (x == nil) != (y == nil) || x != nil && x.Cmp(y) != 0 {
			return fmt.Sprintf("%s: %v vs %v", path, x, y)
		}
		return ""
	}
	switch a.Kind() {
	case reflect.Slice:
		if a.Len() != b.Len() {
			return fmt.Sprintf("%s: length %d vs %d", path, a.Len(), b.Len())
		}
		for i := 0; i < a.Len(); i++ {
			if d := diffValue(fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i)); d != "" {
				return d
			}
		}
		return ""
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				return fmt.Sprintf("%s: nil vs non-nil", path)
			}
			return ""
		}
		return diffValue(path, a.Elem(), b.Elem())
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if d := diffValue(path+"."+a.Type().Field(i).Name, a.Field(i), b.Field(i)); d != "" {
				return d
			}
		}
		return ""
	}
	if a.Interface() != b.Interface() {
		return fmt.Sprintf("%s: %v vs %v", path, a.Interface(), b.Interface())
	}
	return ""
}

// Fixture helpers.

func addr(name string) nitro.Address {
	return nitro.Address(crypto.Keccak256([]byte("address:" + name))[:20])
}

func b32(name string) nitro.Bytes32 {
	return nitro.Bytes32(crypto.Keccak256([]byte("bytes32:" + name)))
}

func sig(name string, v uint8) nitro.Signature {
	return nitro.Signature{V: v, R: b32("r" + name), S: b32("s" + name)}
}

func amount(s string) *big.Int {
	x, ok := new(big.Int).SetString(s, 0)
	if !ok {
		panic("bad amount " + s)
	}
	return x
}

func participants(names ...string) []core.Participant {
	ps := make([]core.Participant, len(names))
	for i, n := range names {
		ps[i] = core.Participant{ParticipantID: n, SigningAddress: addr("sign:" + n), Destination: nitro.AddressToDestination(addr("dest:" + n))}
	}
	return ps
}

// signedState builds a signed state whose State.Participants agree with ps.
func signedState(ps []core.Participant, st nitro.State, sigs ...nitro.Signature) core.SignedState {
	st.Participants = nil
	for _, p := range ps {
		st.Participants = append(st.Participants, p.SigningAddress)
	}
	return core.SignedState{State: st, Participants: ps, Signatures: sigs}
}

// channelID returns a state's id or fails the test.
func channelID(tb testing.TB, ss core.SignedState) nitro.Bytes32 {
	tb.Helper()
	id, err := ss.State.ChannelID()
	if err != nil {
		tb.Fatal(err)
	}
	return id
}

// wireSamplesDir is the installed package's folder of sample messages.
func wireSamplesDir() (string, error) {
	dir, err := wireschema.WireFormatDir()
	return filepath.Join(dir, "__tests__"), err
}
