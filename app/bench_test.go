package app_test

import (
	"testing"

	"github.com/nitrowallet/nitrowallet/app"
)

// BenchmarkPingPong measures one off-chain update end to end between two
// wallets on the memory adapters: update, encode, push, decode, verify.
func BenchmarkPingPong(b *testing.B) {
	e, id := openRunning(b)
	A, B := e.parties[0], e.parties[1]
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		from, to := A, B
		if i%2 == 1 {
			from, to = B, A
		}
		r, err := from.w.UpdateChannel(e.ctx, app.UpdateChannelParams{ChannelID: id, Allocations: e.allocation(int64(4+i%2), int64(4-i%2))})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := to.w.PushMessage(e.ctx, r.Outbox[0].Data); err != nil {
			b.Fatal(err)
		}
	}
}
