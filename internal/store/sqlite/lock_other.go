//go:build !unix

package sqlite

import "github.com/sluicehq/sluice/internal/workflow"

type processLock struct{}

func lockExclusive(string) (*processLock, error) {
	return nil, workflow.Errorf(workflow.EINVALID, "sqlite: Config.Exclusive needs a Unix system")
}

func (*processLock) release() error { return nil }
