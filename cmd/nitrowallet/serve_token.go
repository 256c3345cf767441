package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// minTokenLen is the shortest token serve accepts: a short token could be
// guessed.
const minTokenLen = 16

// maxTokenFile bounds what loadToken reads from a token file.
const maxTokenFile = 4 << 10

// loadToken returns the API token: env's value if set, else the content of
// the file at path, else a new one (32 random bytes, hex) that it writes to
// path with mode 0600, creating its folder (0700). created says it made a
// new one, which the caller prints once. A token file that others may read
// (any group or other permission bit) is refused, as ssh refuses such keys.
func loadToken(env, path string) (token string, created bool, err error) {
	if env = strings.TrimSpace(env); env != "" {
		if len(env) < minTokenLen {
			return "", false, fmt.Errorf("%w: $%s is shorter than %d characters", errServeConfig, tokenEnv, minTokenLen)
		}
		return env, false, nil
	}
	token, err = readTokenFile(path)
	if !errors.Is(err, os.ErrNotExist) {
		return token, false, err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", false, err
	}
	token = hex.EncodeToString(b[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", false, fmt.Errorf("token file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", false, fmt.Errorf("token file: %w", err)
	}
	if _, err := f.WriteString(token + "\n"); err != nil {
		_ = f.Close()
		return "", false, fmt.Errorf("token file: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", false, fmt.Errorf("token file: %w", err)
	}
	return token, true, nil
}

// readTokenFile reads a token file; a missing one is os.ErrNotExist.
func readTokenFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%w: token file %s has mode %#o: others may read it (chmod 600 it)", errServeConfig, path, st.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile))
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if len(token) < minTokenLen {
		return "", fmt.Errorf("%w: token file %s holds fewer than %d characters", errServeConfig, path, minTokenLen)
	}
	return token, nil
}
