package loopback

// The dispute half of the loopback chain (ports.Disputes): challenge,
// checkpoint, respond and pushOutcomeAndTransferAll from the client's
// account, and the record and block-time reads, each one POST to the
// server, which runs it on its memory chain.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/nitrowallet/nitrowallet/core/nitro"
	"github.com/nitrowallet/nitrowallet/ports"
)

// disputeRequest is one dispute call: exactly one of the requests is set,
// or none for the reads (Record takes Channel).
type disputeRequest struct {
	From       nitro.Address             `json:"from"`
	Challenge  *ports.ChallengeRequest   `json:"challenge,omitempty"`
	Checkpoint *ports.CheckpointRequest  `json:"checkpoint,omitempty"`
	Respond    *ports.RespondRequest     `json:"respond,omitempty"`
	Push       *ports.PushOutcomeRequest `json:"push,omitempty"`
	Channel    nitro.Bytes32             `json:"channel"`
}

type disputeResponse struct {
	Tx     ports.TxHash         `json:"tx"`
	Record *ports.ChannelRecord `json:"record,omitempty"`
	Time   uint64               `json:"time,omitempty"`
	Error  *chainError          `json:"error,omitempty"`
}

// disputeRoutes adds the dispute calls to the server's routes.
func (s *Server) disputeRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /chain/dispute/{call}", s.dispute)
}

func (s *Server) dispute(w http.ResponseWriter, r *http.Request) {
	var req disputeRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ctx, acc := r.Context(), s.chain.Account(req.From)
	var out disputeResponse
	var err error
	switch call := r.PathValue("call"); {
	case call == "challenge" && req.Challenge != nil:
		out.Tx, err = acc.Challenge(ctx, *req.Challenge)
	case call == "checkpoint" && req.Checkpoint != nil:
		out.Tx, err = acc.Checkpoint(ctx, *req.Checkpoint)
	case call == "respond" && req.Respond != nil:
		out.Tx, err = acc.Respond(ctx, *req.Respond)
	case call == "push" && req.Push != nil:
		out.Tx, err = acc.PushOutcomeAndTransferAll(ctx, *req.Push)
	case call == "record":
		var rec ports.ChannelRecord
		if rec, err = acc.Record(ctx, req.Channel); err == nil {
			out.Record = &rec
		}
	case call == "blocktime":
		out.Time, err = acc.BlockTime(ctx)
	default:
		http.Error(w, "bad dispute call "+call, http.StatusBadRequest)
		return
	}
	out.Error = toChainError(err)
	reply(w, out)
}

// disputeCall posts one dispute call from the client's account.
func (c *Chain) disputeCall(ctx context.Context, call string, in disputeRequest) (disputeResponse, error) {
	in.From = c.from
	body, err := json.Marshal(in)
	if err != nil {
		return disputeResponse{}, fmt.Errorf("loopback chain: %s: %w", call, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/chain/dispute/"+call, bytes.NewReader(body))
	if err != nil {
		return disputeResponse{}, fmt.Errorf("loopback chain: %s: %w", call, err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return disputeResponse{}, fmt.Errorf("loopback chain: %s: %v: %w", call, err, ports.ErrUnavailable)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return disputeResponse{}, fmt.Errorf("loopback chain: %s: %s: %w", call, resp.Status, ports.ErrUnavailable)
	}
	var out disputeResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return disputeResponse{}, fmt.Errorf("loopback chain: %s: %v: %w", call, err, ports.ErrUnavailable)
	}
	if out.Error != nil {
		return out, out.Error.err()
	}
	return out, nil
}

// Challenge implements ports.Disputes.
func (c *Chain) Challenge(ctx context.Context, req ports.ChallengeRequest) (ports.TxHash, error) {
	out, err := c.disputeCall(ctx, "challenge", disputeRequest{Challenge: &req})
	return out.Tx, err
}

// Respond implements ports.Disputes.
func (c *Chain) Respond(ctx context.Context, req ports.RespondRequest) (ports.TxHash, error) {
	out, err := c.disputeCall(ctx, "respond", disputeRequest{Respond: &req})
	return out.Tx, err
}

// Checkpoint implements ports.Disputes.
func (c *Chain) Checkpoint(ctx context.Context, req ports.CheckpointRequest) (ports.TxHash, error) {
	out, err := c.disputeCall(ctx, "checkpoint", disputeRequest{Checkpoint: &req})
	return out.Tx, err
}

// PushOutcomeAndTransferAll implements ports.Disputes.
func (c *Chain) PushOutcomeAndTransferAll(ctx context.Context, req ports.PushOutcomeRequest) (ports.TxHash, error) {
	out, err := c.disputeCall(ctx, "push", disputeRequest{Push: &req})
	return out.Tx, err
}

// Record implements ports.Disputes.
func (c *Chain) Record(ctx context.Context, id nitro.Bytes32) (ports.ChannelRecord, error) {
	out, err := c.disputeCall(ctx, "record", disputeRequest{Channel: id})
	if err != nil {
		return ports.ChannelRecord{}, err
	}
	if out.Record == nil {
		return ports.ChannelRecord{}, fmt.Errorf("loopback chain: record: empty answer: %w", ports.ErrUnavailable)
	}
	return *out.Record, nil
}

// BlockTime implements ports.Disputes.
func (c *Chain) BlockTime(ctx context.Context) (uint64, error) {
	out, err := c.disputeCall(ctx, "blocktime", disputeRequest{})
	return out.Time, err
}
