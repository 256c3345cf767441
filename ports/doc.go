// Package ports declares the interfaces the app needs from the outside world:
// a chain, a signer, a store, a clock and a way to publish notifications.
// Adapters under adapters/ implement them; the core knows none of them.
package ports
