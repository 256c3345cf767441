package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/creachadair/jrpc2"
)

// Error codes of the server's own (JSON-RPC server-defined range).
const (
	// CodeUnauthorized: no or a wrong bearer token (HTTP 401).
	CodeUnauthorized = -32001
	// CodeRateLimited: the rate limit refused the call (HTTP 429 on POST).
	CodeRateLimited = -32005
)

// Messages of the server's own errors.
const (
	msgUnauthorized = "Unauthorized"
	msgRateLimited  = "Rate limited"
	msgTooLarge     = "Request too large"
	msgParseError   = "Parse error"
)

// Subprotocol is the WebSocket subprotocol the server speaks. A browser,
// which cannot set headers on a WebSocket, offers ["nitrowallet",
// "bearer.<token>"] instead of an Authorization header.
const Subprotocol = "nitrowallet"

// bearerPrefix prefixes the token in a WebSocket subprotocol.
const bearerPrefix = "bearer."

// authed lets only requests carrying the token through to next; others get
// HTTP 401 with a JSON-RPC error body (-32001). The token is compared in
// constant time (of equal-length hashes, so not even its length leaks).
func (s *Server) authed(next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(s.cfg.Token))
	ok := func(token string) bool {
		got := sha256.Sum256([]byte(token))
		return subtle.ConstantTimeCompare(got[:], want[:]) == 1
	}
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if tok, found := bearer(r); found && ok(tok) {
			next.ServeHTTP(rw, r)
			return
		}
		s.log.Info("unauthorized request refused", "path", r.URL.Path, "remote", r.RemoteAddr)
		rw.Header().Set("WWW-Authenticate", `Bearer realm="nitrowallet"`)
		writeRPCError(rw, http.StatusUnauthorized, CodeUnauthorized, msgUnauthorized)
	})
}

// bearer returns the token of the Authorization header or, on a WebSocket
// upgrade, of a "bearer.<token>" subprotocol.
func bearer(r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, found := strings.Cut(h, " ")
		if found && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok), true
		}
		return "", false
	}
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(v, ",") {
			if tok, found := strings.CutPrefix(strings.TrimSpace(p), bearerPrefix); found {
				return tok, true
			}
		}
	}
	return "", false
}

// writeRPCError writes a JSON-RPC error response with id null.
func writeRPCError(rw http.ResponseWriter, status int, code jrpc2.Code, msg string) {
	b, _ := json.Marshal(struct {
		JSONRPC string       `json:"jsonrpc"`
		ID      *int         `json:"id"`
		Error   *jrpc2.Error `json:"error"`
	}{"2.0", nil, &jrpc2.Error{Code: code, Message: msg}})
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_, _ = rw.Write(b)
}

type parsedKey struct{}

// parsedRequests hands the bridge what servePost parsed.
func parsedRequests(r *http.Request) ([]*jrpc2.ParsedRequest, error) {
	reqs, ok := r.Context().Value(parsedKey{}).([]*jrpc2.ParsedRequest)
	if !ok {
		return nil, errors.New("server: request not parsed")
	}
	return reqs, nil
}

// servePost reads one JSON-RPC request or batch (at most MaxRequestBytes:
// 413 and -32600 above), answers malformed JSON with -32700 (HTTP 400),
// takes one rate token per call (429 and -32005 when refused), and hands
// the calls to the jhttp bridge.
func (s *Server) servePost(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, s.cfg.MaxRequestBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.log.Info("oversized request refused", "limit", s.cfg.MaxRequestBytes, "remote", r.RemoteAddr)
			writeRPCError(rw, http.StatusRequestEntityTooLarge, jrpc2.InvalidRequest, msgTooLarge)
			return
		}
		writeRPCError(rw, http.StatusBadRequest, jrpc2.ParseError, msgParseError)
		return
	}
	reqs, err := jrpc2.ParseRequests(bytes.TrimSpace(body))
	if err != nil || len(reqs) == 0 && !bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) {
		writeRPCError(rw, http.StatusBadRequest, jrpc2.ParseError, msgParseError)
		return
	}
	if !s.limiter.AllowN(time.Now(), max(1, len(reqs))) {
		s.log.Info("rate limited", "calls", len(reqs), "remote", r.RemoteAddr)
		writeRPCError(rw, http.StatusTooManyRequests, CodeRateLimited, msgRateLimited)
		return
	}
	if len(reqs) == 0 { // "[]": an invalid request per the spec
		writeRPCError(rw, http.StatusOK, jrpc2.InvalidRequest, "empty batch")
		return
	}
	s.bridge.ServeHTTP(rw, r.WithContext(context.WithValue(r.Context(), parsedKey{}, reqs)))
}
