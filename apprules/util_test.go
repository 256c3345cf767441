package apprules_test

import (
	"math/rand"

	"github.com/ethereum/go-ethereum/accounts/abi"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewSource(int64(seed))) }

// revertString decodes a revert payload's reason as the local side does.
func revertString(data []byte) string {
	s, err := abi.UnpackRevert(data)
	if err != nil {
		return ""
	}
	return s
}
