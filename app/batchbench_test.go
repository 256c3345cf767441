package app_test

import (
	"fmt"
	"testing"

	"github.com/nitrowallet/nitrowallet/app"
	"github.com/nitrowallet/nitrowallet/core/nitro"
)

// BenchmarkCreateChannels compares opening 50 channels at B's side (A
// creates, B takes the proposals and joins) with the batch calls against
// 50 single calls, on each store; it reports channels/s.
func BenchmarkCreateChannels(b *testing.B) {
	for _, k := range storeKinds {
		for _, batch := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/batch=%v", k.name, batch), func(b *testing.B) {
				e := newEnvWith(b, 2, func(_ string, c *app.Config) { c.Store = k.open(b) })
				A, B := e.parties[0], e.parties[1]
				p := app.CreateChannelParams{Participants: e.participants(), Allocations: e.allocation(5, 3)}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if batch {
						r, err := A.w.CreateChannels(e.ctx, p, batchN)
						if err != nil {
							b.Fatal(err)
						}
						e.push(r.Outbox[0])
						ids := make([]nitro.Bytes32, len(r.ChannelResults))
						for j, c := range r.ChannelResults {
							ids[j] = c.ChannelID
						}
						if _, err := B.w.JoinChannels(e.ctx, ids); err != nil {
							b.Fatal(err)
						}
						continue
					}
					for range batchN {
						r, err := A.w.CreateChannel(e.ctx, p)
						if err != nil {
							b.Fatal(err)
						}
						e.push(r.Outbox[0])
						if _, err := B.w.JoinChannel(e.ctx, r.ChannelResults[0].ChannelID); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(b.N*batchN)/b.Elapsed().Seconds(), "channels/s")
			})
		}
	}
}
