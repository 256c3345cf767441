// Package loopback lets a wallet in another process share a test's
// in-memory chain and message queues: Server exposes an adapters/memory
// Chain and per-participant mailboxes over HTTP on 127.0.0.1; Chain is the
// ports.Chain client (events stream as JSON lines) and Mail the mailbox
// client. The chain serves the dispute calls too (disputes.go). For tests
// only: no authentication, no limits.
package loopback

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/nitrowallet/nitrowallet/adapters/memory"
	"github.com/nitrowallet/nitrowallet/core"
	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// Server serves a chain and a mailbox.
type Server struct {
	chain *memory.Chain
	mail  *Mailbox
	srv   *httptest.Server
}

// NewServer starts serving chain and a new mailbox on a loopback port.
func NewServer(chain *memory.Chain) *Server {
	s := &Server{chain: chain, mail: NewMailbox()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /chain/id", s.chainID)
	mux.HandleFunc("POST /chain/deposit", s.deposit)
	mux.HandleFunc("POST /chain/conclude", s.conclude)
	mux.HandleFunc("POST /chain/holdings", s.holdings)
	mux.HandleFunc("GET /chain/events", s.events)
	s.disputeRoutes(mux)
	mux.HandleFunc("POST /mail/send", s.send)
	mux.HandleFunc("GET /mail/recv", s.recv)
	s.srv = httptest.NewServer(mux)
	return s
}

// URL is the server's base URL.
func (s *Server) URL() string { return s.srv.URL }

// Mailbox is the server's mailbox, for the test process itself.
func (s *Server) Mailbox() *Mailbox { return s.mail }

// Close stops the server, ending open event streams.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// chainError carries a chain error across the wire, keeping what callers
// test with errors.Is and errors.As.
type chainError struct {
	Revert       *string `json:"revert,omitempty"`
	Insufficient bool    `json:"insufficient,omitempty"`
	Unavailable  bool    `json:"unavailable,omitempty"`
	Message      string  `json:"message"`
}

func toChainError(err error) *chainError {
	if err == nil {
		return nil
	}
	ce := &chainError{Message: err.Error(), Insufficient: errors.Is(err, ports.ErrInsufficientFunds), Unavailable: errors.Is(err, ports.ErrUnavailable)}
	var r *ports.RevertError
	if errors.As(err, &r) {
		ce.Revert = &r.Reason
	}
	return ce
}

func (ce *chainError) err() error {
	switch {
	case ce.Revert != nil && ce.Insufficient:
		return fmt.Errorf("%w (%w)", &ports.RevertError{Reason: *ce.Revert}, ports.ErrInsufficientFunds)
	case ce.Revert != nil:
		return &ports.RevertError{Reason: *ce.Revert}
	case ce.Insufficient:
		return fmt.Errorf("%s: %w", ce.Message, ports.ErrInsufficientFunds)
	case ce.Unavailable:
		return fmt.Errorf("%s: %w", ce.Message, ports.ErrUnavailable)
	}
	return errors.New(ce.Message)
}

type txRequest struct {
	From     nitro.Address          `json:"from"`
	Deposit  *ports.DepositRequest  `json:"deposit,omitempty"`
	Conclude *ports.ConcludeRequest `json:"conclude,omitempty"`
	Asset    nitro.Address          `json:"asset"`
	Channel  nitro.Bytes32          `json:"channel"`
}

type txResponse struct {
	Tx       ports.TxHash `json:"tx"`
	Holdings *big.Int     `json:"holdings,omitempty"`
	Error    *chainError  `json:"error,omitempty"`
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

type chainInfo struct {
	ChainID        *big.Int      `json:"chainId"`
	ETHAssetHolder nitro.Address `json:"ethAssetHolder"`
}

func (s *Server) chainID(w http.ResponseWriter, r *http.Request) {
	reply(w, chainInfo{ChainID: s.chain.Account(nitro.Address{}).ChainID(), ETHAssetHolder: s.chain.ETHAssetHolder()})
}

func (s *Server) decode(w http.ResponseWriter, r *http.Request) (txRequest, bool) {
	var req txRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return req, false
	}
	return req, true
}

func (s *Server) deposit(w http.ResponseWriter, r *http.Request) {
	req, ok := s.decode(w, r)
	if !ok || req.Deposit == nil {
		return
	}
	tx, err := s.chain.Account(req.From).Deposit(r.Context(), *req.Deposit)
	reply(w, txResponse{Tx: tx, Error: toChainError(err)})
}

func (s *Server) conclude(w http.ResponseWriter, r *http.Request) {
	req, ok := s.decode(w, r)
	if !ok || req.Conclude == nil {
		return
	}
	tx, err := s.chain.Account(req.From).ConcludeAndTransferAll(r.Context(), *req.Conclude)
	reply(w, txResponse{Tx: tx, Error: toChainError(err)})
}

func (s *Server) holdings(w http.ResponseWriter, r *http.Request) {
	req, ok := s.decode(w, r)
	if !ok {
		return
	}
	h, err := s.chain.Account(req.From).Holdings(r.Context(), req.Asset, req.Channel)
	reply(w, txResponse{Holdings: h, Error: toChainError(err)})
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	from, err := strconv.ParseUint(r.URL.Query().Get("from"), 10, 64)
	if err != nil {
		http.Error(w, "bad from", http.StatusBadRequest)
		return
	}
	evs, err := s.chain.Account(nitro.Address{}).Events(r.Context(), ports.Cursor{Block: from})
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	enc := json.NewEncoder(w)
	for ev := range evs {
		if err := enc.Encode(ev); err != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
	}
}

func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mail.Send(r.URL.Query().Get("to"), data)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) recv(w http.ResponseWriter, r *http.Request) {
	wait, _ := time.ParseDuration(r.URL.Query().Get("wait"))
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	data, ok := s.mail.Recv(ctx, r.URL.Query().Get("who"))
	if !ok {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	_, _ = w.Write(data)
}

// Mailbox queues messages per recipient, in send order. A message taken by
// Recv is gone: a receiver that dies before handling it loses it, as on a
// real network.
type Mailbox struct {
	mu     sync.Mutex
	queues map[string][][]byte
	wake   chan struct{}
}

// NewMailbox returns an empty mailbox.
func NewMailbox() *Mailbox {
	return &Mailbox{queues: map[string][][]byte{}, wake: make(chan struct{})}
}

// Send queues a message for a recipient.
func (m *Mailbox) Send(to string, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queues[to] = append(m.queues[to], bytes.Clone(data))
	close(m.wake)
	m.wake = make(chan struct{})
}

// Recv takes the next message for who, waiting until one comes or ctx ends.
func (m *Mailbox) Recv(ctx context.Context, who string) ([]byte, bool) {
	for {
		m.mu.Lock()
		if q := m.queues[who]; len(q) > 0 {
			m.queues[who] = q[1:]
			m.mu.Unlock()
			return q[0], true
		}
		wake := m.wake
		m.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// Chain is a ports.Chain bound to one account of a Server's chain.
type Chain struct {
	base    string
	from    nitro.Address
	hc      *http.Client
	chainID *big.Int
	eth     nitro.Address
}

var _ ports.Chain = (*Chain)(nil)

// DialChain returns the chain of the server at base, bound to account from.
func DialChain(ctx context.Context, base string, from nitro.Address) (*Chain, error) {
	c := &Chain{base: base, from: from, hc: &http.Client{}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/chain/id", nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("loopback chain: %v: %w", err, ports.ErrUnavailable)
	}
	defer resp.Body.Close()
	var info chainInfo
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || info.ChainID == nil {
		return nil, fmt.Errorf("loopback chain: bad chain info response: %v", err)
	}
	c.chainID, c.eth = info.ChainID, info.ETHAssetHolder
	return c, nil
}

// ETHAssetHolder is the chain's ETH asset holder.
func (c *Chain) ETHAssetHolder() nitro.Address { return c.eth }

// ChainID implements ports.Chain.
func (c *Chain) ChainID() *big.Int { return new(big.Int).Set(c.chainID) }

// AssetHolders implements ports.Chain: the chain's ETH asset holder.
func (c *Chain) AssetHolders() []nitro.Address { return []nitro.Address{c.eth} }

func (c *Chain) call(ctx context.Context, path string, in txRequest) (txResponse, error) {
	in.From = c.from
	body, err := json.Marshal(in)
	if err != nil {
		return txResponse{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return txResponse{}, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return txResponse{}, fmt.Errorf("loopback chain: %v: %w", err, ports.ErrUnavailable)
	}
	defer resp.Body.Close()
	var out txResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return txResponse{}, fmt.Errorf("loopback chain: %v: %w", err, ports.ErrUnavailable)
	}
	if out.Error != nil {
		return out, out.Error.err()
	}
	return out, nil
}

// Deposit implements ports.Chain.
func (c *Chain) Deposit(ctx context.Context, req ports.DepositRequest) (ports.TxHash, error) {
	out, err := c.call(ctx, "/chain/deposit", txRequest{Deposit: &req})
	return out.Tx, err
}

// ConcludeAndTransferAll implements ports.Chain.
func (c *Chain) ConcludeAndTransferAll(ctx context.Context, req ports.ConcludeRequest) (ports.TxHash, error) {
	out, err := c.call(ctx, "/chain/conclude", txRequest{Conclude: &req})
	return out.Tx, err
}

// Holdings implements ports.Chain.
func (c *Chain) Holdings(ctx context.Context, asset nitro.Address, id nitro.Bytes32) (*big.Int, error) {
	out, err := c.call(ctx, "/chain/holdings", txRequest{Asset: asset, Channel: id})
	if err != nil {
		return nil, err
	}
	return out.Holdings, nil
}

// Code implements ports.Chain: the loopback chain serves no app code, so
// an app cannot be registered by its address through it.
func (c *Chain) Code(context.Context, nitro.Address) ([]byte, error) { return nil, nil }

// Events implements ports.Chain: one long HTTP response of JSON lines. Only
// the cursor's block travels: the server trusts it (no rewind check).
func (c *Chain) Events(ctx context.Context, from ports.Cursor) (<-chan core.ChainEvent, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/chain/events?from="+strconv.FormatUint(from.Block, 10), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("loopback chain: %v: %w", err, ports.ErrUnavailable)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("loopback chain: events: %s: %w", resp.Status, ports.ErrUnavailable)
	}
	out := make(chan core.ChainEvent)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			var ev core.ChainEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				return
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// Mail is a client of a Server's mailbox.
type Mail struct {
	base string
	hc   *http.Client
}

// NewMail returns the mailbox client of the server at base.
func NewMail(base string) *Mail { return &Mail{base: base, hc: &http.Client{}} }

// Send queues a message for a recipient.
func (m *Mail) Send(ctx context.Context, to string, data []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.base+"/mail/send?to="+url.QueryEscape(to), bytes.NewReader(data))
	if err != nil {
		return err
	}
	resp, err := m.hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("loopback mail: send: %s", resp.Status)
	}
	return nil
}

// Recv takes the next message for who, waiting up to wait.
func (m *Mail) Recv(ctx context.Context, who string, wait time.Duration) ([]byte, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.base+"/mail/recv?who="+url.QueryEscape(who)+"&wait="+wait.String(), nil)
	if err != nil {
		return nil, false, err
	}
	resp, err := m.hc.Do(req)
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNoContent {
		return nil, false, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, false, fmt.Errorf("loopback mail: recv: %s", resp.Status)
	}
	data, err := io.ReadAll(resp.Body)
	return data, err == nil, err
}
