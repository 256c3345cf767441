package watchtower

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/nitrowallet/nitrowallet/ports"
)

// Path is where Handler takes proofs (POST).
const Path = "/v1/watch"

// MaxRequestBytes bounds a request body Handler reads: a proof of a
// channel with many participants and a large outcome fits many times.
const MaxRequestBytes = 1 << 20

// ErrRejected: the watchtower answered a Client's request with an error
// status; the message carries the status and the server's reason. A
// proof refused as invalid also matches ErrInvalidProof.
var ErrRejected = errors.New("watchtower: request rejected")

// Local is the in-process ports.Watchtower: it hands proofs straight to a
// Watcher.
type Local struct{ W *Watcher }

var _ ports.Watchtower = Local{}

// Watch implements ports.Watchtower.
func (l Local) Watch(ctx context.Context, p ports.WatchProof) error { return l.W.Watch(ctx, p) }

// Handler serves the watchtower's HTTP endpoint (docs/watchtower.md):
// POST Path with a proof as JSON (EncodeProof's format) and the header
// "Authorization: Bearer <token>". It answers 200 with {"stored": bool,
// "turnNum": n} (stored false: a proof as new was held already), 400 for a
// malformed or invalid proof, 401 for a wrong token (compared in constant
// time), 405 for another method, 413 for a body over MaxRequestBytes, 500
// when the store fails. An empty token refuses every request.
func Handler(w *Watcher, token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(Path, func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			rw.Header().Set("Allow", http.MethodPost)
			httpError(rw, http.StatusMethodNotAllowed, "POST only")
			return
		}
		if !authorized(r, token) {
			httpError(rw, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, MaxRequestBytes))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			httpError(rw, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", MaxRequestBytes))
			return
		}
		if err != nil {
			httpError(rw, http.StatusBadRequest, err.Error())
			return
		}
		p, err := DecodeProof(body)
		if err == nil {
			err = w.Watch(r.Context(), p)
		}
		switch {
		case errors.Is(err, ErrInvalidProof):
			httpError(rw, http.StatusBadRequest, err.Error())
			return
		case err != nil:
			w.log.Warn("watch request failed", "err", err)
			httpError(rw, http.StatusInternalServerError, "store failed")
			return
		}
		held, err := w.cfg.Store.Get(r.Context(), p.ChannelID)
		stored := err == nil && held.Turn() == p.Turn()
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(map[string]any{"stored": stored, "turnNum": held.Turn()})
	})
	return mux
}

func authorized(r *http.Request, token string) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}

func httpError(rw http.ResponseWriter, status int, msg string) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(map[string]string{"error": msg})
}

// Client is the HTTP ports.Watchtower: it POSTs proofs to a watchtower's
// Handler at URL (its base, e.g. "http://127.0.0.1:7000") with Token.
type Client struct {
	URL   string
	Token string
	// HTTP defaults to http.DefaultClient.
	HTTP *http.Client
}

var _ ports.Watchtower = (*Client)(nil)

// Watch implements ports.Watchtower: an error wraps ErrRejected for an
// error status (and ErrInvalidProof for a 400), or the transport's error.
func (c *Client) Watch(ctx context.Context, p ports.WatchProof) error {
	body, err := EncodeProof(p)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.URL, "/")+Path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("watchtower client: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.Token)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("watchtower client: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode == http.StatusOK:
		return nil
	case resp.StatusCode == http.StatusBadRequest:
		return fmt.Errorf("%w: %w: %s", ErrRejected, ErrInvalidProof, bytes.TrimSpace(msg))
	}
	return fmt.Errorf("%w: %s: %s", ErrRejected, resp.Status, bytes.TrimSpace(msg))
}
