package main

import (
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/nitrowallet/nitrowallet/adapters/keys"
)

// addressCommand loads a signing key the way a deployment would (a keystore
// file with its passphrase in an environment variable, or a hex key in an
// environment variable) and prints the signing address it gives, so an
// operator can check a key before a wallet uses it.
func addressCommand(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("address", flag.ContinueOnError)
	fs.SetOutput(out)
	keystore := fs.String("keystore", "", "an Ethereum keystore (v3) file")
	passEnv := fs.String("passphrase-env", "NITROWALLET_PASSPHRASE", "environment variable holding the keystore's passphrase")
	keyEnv := fs.String("key-env", "NITROWALLET_PRIVATE_KEY", "environment variable holding a hex private key (used without -keystore)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	key, err := loadKey(*keystore, *passEnv, *keyEnv)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, keys.NewSigner(key).Address())
	return nil
}

// loadKey reads the key from the keystore file if one is named, else from
// the environment.
func loadKey(keystore, passEnv, keyEnv string) (*ecdsa.PrivateKey, error) {
	if keystore == "" {
		return keys.FromEnv(keyEnv)
	}
	pass, ok := os.LookupEnv(passEnv)
	if !ok {
		return nil, errors.New("the keystore's passphrase goes in $" + passEnv)
	}
	return keys.LoadKeystore(keystore, pass)
}
