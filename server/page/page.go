// Package page is the operator's page served at / by the server: one
// static HTML page with its script and style sheet (no build step, no
// framework) that lists the wallet's channels and its last messages over
// the WebSocket API, with the token the operator types.
//
// The page holds no data itself, so it is served without auth; the script
// sends the token (kept in sessionStorage) as the WebSocket subprotocol
// "bearer.<token>" next to "nitrowallet". It writes everything the server
// sends with textContent, never as HTML.
//
// index.html, page.js and page.css are separate files to read and edit; the
// handler serves them as one document, with the script and the style sheet
// inlined, so the page needs one route, and a Content-Security-Policy that
// admits exactly those two (by their SHA-256 hashes) and nothing else.
package page

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"net/http"
)

var (
	//go:embed index.html
	indexHTML []byte
	//go:embed page.js
	pageJS []byte
	//go:embed page.css
	pageCSS []byte
)

// The tags of index.html that the handler replaces with the inlined files.
const (
	scriptTag = `<script src="page.js"></script>`
	styleTag  = `<link rel="stylesheet" href="page.css">`
)

// document is the page as served, and csp its Content-Security-Policy.
var document, csp = assemble(indexHTML, pageJS, pageCSS)

// assemble inlines js and css into index in place of their tags and returns
// the document with a policy that admits only them.
func assemble(index, js, css []byte) ([]byte, string) {
	doc := bytes.Replace(index, []byte(styleTag), concat("<style>", css, "</style>"), 1)
	doc = bytes.Replace(doc, []byte(scriptTag), concat("<script>", js, "</script>"), 1)
	policy := "default-src 'none'; script-src " + hash(js) + "; style-src " + hash(css) +
		"; connect-src 'self' ws: wss:; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	return doc, policy
}

func concat(open string, body []byte, end string) []byte {
	return append(append([]byte(open), body...), end...)
}

func hash(b []byte) string {
	sum := sha256.Sum256(b)
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}

// CSP returns the Content-Security-Policy the handler sends: the inlined
// script and style sheet by hash, WebSocket and fetch to the page's own
// origin (ws: and wss: too, for browsers whose 'self' does not yet cover
// WebSocket URLs), no frames, no forms posted anywhere.
func CSP() string { return csp }

// Handler serves the page at /; any other path is 404 (the server mounts
// it on "GET /{$}").
func Handler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(rw, r)
			return
		}
		h := rw.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		_, _ = rw.Write(document)
	})
}
