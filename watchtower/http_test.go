package watchtower_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nitrowallet/nitrowallet/watchtower"
)

// TestWatchHTTP: a proof POSTed through Client is stored; a wrong token,
// another method, an invalid proof and an oversized body are refused with
// their statuses; the JSON format round-trips.
func TestWatchHTTP(t *testing.T) {
	x := newWorld(t)
	srv := httptest.NewServer(watchtower.Handler(x.w, "s3cret"))
	defer srv.Close()
	ctx := context.Background()
	p5 := x.proof(1, 5)

	b, err := watchtower.EncodeProof(p5)
	if err != nil {
		t.Fatal(err)
	}
	back, err := watchtower.DecodeProof(b)
	if err != nil || watchtower.Check(back) != nil || back.Turn() != 5 {
		t.Fatalf("round trip: %v, check %v", err, watchtower.Check(back))
	}

	wrong := &watchtower.Client{URL: srv.URL, Token: "s3cret!"}
	if err := wrong.Watch(ctx, p5); !errors.Is(err, watchtower.ErrRejected) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong token: %v", err)
	}
	c := &watchtower.Client{URL: srv.URL, Token: "s3cret"}
	bad := x.proof(1, 6)
	bad.Proof.Signatures[0] = bad.Proof.Signatures[1]
	if err := c.Watch(ctx, bad); !errors.Is(err, watchtower.ErrInvalidProof) {
		t.Fatalf("invalid proof: %v", err)
	}
	if err := c.Watch(ctx, p5); err != nil {
		t.Fatal(err)
	}
	if held, err := x.store.Get(ctx, p5.ChannelID); err != nil || held.Turn() != 5 {
		t.Fatalf("held %d, %v", held.Turn(), err)
	}

	for _, r := range []struct {
		method, body string
		want         int
	}{
		{http.MethodGet, "", http.StatusMethodNotAllowed},
		{http.MethodPost, strings.Repeat(" ", watchtower.MaxRequestBytes+1), http.StatusRequestEntityTooLarge},
		{http.MethodPost, "{", http.StatusBadRequest},
	} {
		req, _ := http.NewRequest(r.method, srv.URL+watchtower.Path, strings.NewReader(r.body))
		req.Header.Set("Authorization", "Bearer s3cret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != r.want {
			t.Errorf("%s with %d bytes: %d, want %d", r.method, len(r.body), resp.StatusCode, r.want)
		}
	}
	if s := x.w.Stats(); s.Proofs != 1 || s.Refused != 1 {
		t.Fatalf("stats %+v", s)
	}
}
