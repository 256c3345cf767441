// Package page is the operator's page served at / by the server: one
// static HTML file with its script (no build step) that lists the wallet's
// channels over the WebSocket API.
package page

import (
	_ "embed"
	"net/http"
)

//go:embed index.html
var index []byte

// Handler serves the page.
func Handler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/html; charset=utf-8")
		rw.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; connect-src 'self' ws: wss:")
		_, _ = rw.Write(index)
	})
}
