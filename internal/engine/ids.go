package engine

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/google/uuid"
)

// newID returns a time-ordered UUIDv7 string.
func newID() string { return uuid.Must(uuid.NewV7()).String() }

// requestHash fingerprints a start request's input.
func requestHash(input []byte) string {
	sum := sha256.Sum256(input)
	return hex.EncodeToString(sum[:])
}
