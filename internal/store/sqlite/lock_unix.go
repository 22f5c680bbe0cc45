//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/sluicehq/sluice/internal/workflow"
)

// processLock is an advisory lock held for as long as the store is open; the
// kernel drops it when the process dies, however it dies.
type processLock struct{ f *os.File }

// lockExclusive takes the lock file beside the database, or fails at once if
// another process holds it.
func lockExclusive(dbPath string) (*processLock, error) {
	path := dbPath + "-sluice.lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, workflow.Errorf(workflow.ECONFLICT,
				"database %s is in use by another sluice process (lock file %s); stop it first, or use PostgreSQL to run several", dbPath, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &processLock{f: f}, nil
}

func (l *processLock) release() error {
	if l == nil {
		return nil
	}
	return l.f.Close() // closing the descriptor drops the flock
}
