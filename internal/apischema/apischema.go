// Package apischema validates JSON-RPC messages against the published
// statechannels client API schema, @statechannels/client-api-schema 0.5.0,
// read from the pinned npm project in tools/oracle (installed by `make
// oracle`), with santhosh-tekuri/jsonschema (draft 7). It is for tests:
// every request the Go client sends and every response and notification
// the server produces is checked with it.
package apischema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Hint tells what to run when the npm packages are missing.
const Hint = "the pinned npm packages are missing: run `make oracle` (npm ci in tools/oracle) first"

// ErrNotInSchema: the message's method (an extension of ours) has no
// definition in the schema, so it cannot be validated.
var ErrNotInSchema = errors.New("apischema: method not in client-api-schema 0.5.0")

// SchemaFile returns the installed generated-schema.json, found from the
// working directory upwards.
func SchemaFile() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "tools", "oracle", "node_modules", "@statechannels", "client-api-schema", "lib", "src", "generated-schema.json"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("apischema: no go.mod above the working directory")
		}
		dir = parent
	}
}

const url = "file:///client-api-schema/generated-schema.json"

var (
	mu       sync.Mutex
	compiler *jsonschema.Compiler
	compiled = map[string]*jsonschema.Schema{}
)

// Definition returns the compiled schema of one definition (e.g.
// "CreateChannelRequest").
func Definition(name string) (*jsonschema.Schema, error) {
	mu.Lock()
	defer mu.Unlock()
	if s, ok := compiled[name]; ok {
		return s, nil
	}
	if compiler == nil {
		path, err := SchemaFile()
		if err != nil {
			return nil, err
		}
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", Hint, err)
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			return nil, err
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft7)
		if err := c.AddResource(url, doc); err != nil {
			return nil, err
		}
		compiler = c
	}
	s, err := compiler.Compile(url + "#/definitions/" + name)
	if err != nil {
		return nil, err
	}
	compiled[name] = s
	return s, nil
}

// Validate checks doc against one definition.
func Validate(definition string, doc []byte) error {
	s, err := Definition(definition)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("apischema: not JSON: %w", err)
	}
	if err := s.Validate(inst); err != nil {
		return fmt.Errorf("apischema: %s: %w", definition, err)
	}
	return nil
}

// Methods are the schema's request methods.
var Methods = map[string]bool{
	"CreateChannel": true, "JoinChannel": true, "UpdateChannel": true, "CloseChannel": true,
	"ChallengeChannel": true, "GetState": true, "GetChannels": true, "PushMessage": true,
	"SyncChannel": true, "GetWalletInformation": true, "EnableEthereum": true, "GetBudget": true,
	"ApproveBudgetAndFund": true, "CloseAndWithdraw": true,
}

// notifications maps the schema's notification methods to definitions.
var notifications = map[string]string{
	"ChannelProposed": "ChannelProposedNotification",
	"ChannelUpdated":  "ChannelUpdatedNotification",
	"ChannelClosed":   "ChannelClosingNotification",
	"MessageQueued":   "MessageQueuedNotification",
	"BudgetUpdated":   "BudgetUpdatedNotification",
	"UIUpdate":        "UiNotification",
	"WalletReady":     "WalletReady",
}

// Codes are the error codes the schema defines (StateChannelsError).
var Codes = map[int]bool{100: true, 200: true, 300: true, 301: true, 400: true, 401: true, 402: true, 403: true, 404: true,
	500: true, 900: true, 1000: true, 1001: true, 1100: true, 1101: true, 1200: true, 1300: true}

type envelope struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Error  *struct {
		Code int `json:"code"`
	} `json:"error"`
}

// Request checks one request by its method's definition (<Method>Request);
// ErrNotInSchema for an extension method.
func Request(doc []byte) error {
	var e envelope
	if err := json.Unmarshal(doc, &e); err != nil {
		return fmt.Errorf("apischema: not a request: %w", err)
	}
	if !Methods[e.Method] {
		return fmt.Errorf("%w: %q", ErrNotInSchema, e.Method)
	}
	return Validate(e.Method+"Request", doc)
}

// Response checks one response to a call of method: a result by
// <Method>Response, an error with a code of the schema by
// StateChannelsErrorResponse. ErrNotInSchema for an extension method or an
// error code the schema does not define (JSON-RPC's own -32xxx, and ours:
// see CheckEnvelope for those).
func Response(method string, doc []byte) error {
	var e envelope
	if err := json.Unmarshal(doc, &e); err != nil {
		return fmt.Errorf("apischema: not a response: %w", err)
	}
	if e.Error != nil {
		if !Codes[e.Error.Code] {
			return fmt.Errorf("%w: error code %d", ErrNotInSchema, e.Error.Code)
		}
		return Validate("StateChannelsErrorResponse", doc)
	}
	if !Methods[method] {
		return fmt.Errorf("%w: %q", ErrNotInSchema, method)
	}
	return Validate(method+"Response", doc)
}

// Notification checks one notification by its method's definition;
// ErrNotInSchema for an extension notification.
func Notification(doc []byte) error {
	var e envelope
	if err := json.Unmarshal(doc, &e); err != nil {
		return fmt.Errorf("apischema: not a notification: %w", err)
	}
	def, ok := notifications[e.Method]
	if !ok {
		return fmt.Errorf("%w: notification %q", ErrNotInSchema, e.Method)
	}
	return Validate(def, doc)
}

// CheckEnvelope checks what JSON-RPC 2.0 itself requires of a response
// the schema has no definition for: "jsonrpc": "2.0", an id (a number, or
// null), and exactly one of result and error, an error with an integer
// code and a string message.
func CheckEnvelope(doc []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(doc, &m); err != nil {
		return fmt.Errorf("apischema: not an object: %w", err)
	}
	if string(m["jsonrpc"]) != `"2.0"` {
		return fmt.Errorf("apischema: jsonrpc is %s", m["jsonrpc"])
	}
	id, ok := m["id"]
	var num float64
	if !ok || (string(id) != "null" && json.Unmarshal(id, &num) != nil) {
		return fmt.Errorf("apischema: id %s is not a number or null", id)
	}
	_, res := m["result"]
	raw, isErr := m["error"]
	if res == isErr {
		return errors.New("apischema: want exactly one of result and error")
	}
	if isErr {
		var e struct {
			Code    *int    `json:"code"`
			Message *string `json:"message"`
		}
		if err := json.Unmarshal(raw, &e); err != nil || e.Code == nil || e.Message == nil {
			return fmt.Errorf("apischema: error %s lacks an integer code or a message", raw)
		}
	}
	return nil
}
