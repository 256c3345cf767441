// Package wireschema validates JSON against the published statechannels
// wire-format 0.8.3 schema, read from the pinned npm project in tools/oracle
// (installed by `make oracle`). It is for tests.
package wireschema

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Hint tells what to run when the npm packages are missing.
const Hint = "the pinned npm packages are missing: run `make oracle` (npm ci in tools/oracle) first"

// WireFormatDir returns the installed @statechannels/wire-format lib/src
// folder, found from the working directory upwards.
func WireFormatDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "tools", "oracle", "node_modules", "@statechannels", "wire-format", "lib", "src"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("wireschema: no go.mod above the working directory")
		}
		dir = parent
	}
}

var (
	once   sync.Once
	schema *jsonschema.Schema
	errLd  error
)

// Message returns the compiled Message definition (draft 7).
func Message() (*jsonschema.Schema, error) {
	once.Do(func() {
		dir, err := WireFormatDir()
		if err != nil {
			errLd = err
			return
		}
		f, err := os.Open(filepath.Join(dir, "generated-schema.json"))
		if err != nil {
			errLd = fmt.Errorf("%s: %w", Hint, err)
			return
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			errLd = err
			return
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft7)
		const url = "file:///wire-format/generated-schema.json"
		if err := c.AddResource(url, doc); err != nil {
			errLd = err
			return
		}
		schema, errLd = c.Compile(url + "#/definitions/Message")
	})
	return schema, errLd
}

// Validate checks one JSON message against the schema.
func Validate(b []byte) error {
	s, err := Message()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("wireschema: not JSON: %w", err)
	}
	return s.Validate(inst)
}
