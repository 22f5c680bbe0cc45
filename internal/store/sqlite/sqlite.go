// Package sqlite implements workflow.Store on an embedded SQLite database
// (modernc.org/sqlite, no cgo). It is Sluice's default store.
//
// One connection writes and a pool of connections reads, so readers never wait
// for the writer (WAL). Every write goes through a single writer goroutine that
// runs the requests queued while it was busy in one transaction (group
// commit): concurrent starts and checkpoints share one commit. A request that
// fails rolls back alone: the batch is then run again with each request in its
// own SAVEPOINT.
package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/sluicehq/sluice/internal/workflow"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Config configures a Store. The zero value takes the documented defaults.
type Config struct {
	// BusyTimeout is how long a connection waits for a lock held by another
	// process (e.g. `sluice migrate`) before failing with EUNAVAILABLE.
	// Defaults to 5s.
	BusyTimeout time.Duration
	// ReadConns is the size of the read pool. Defaults to GOMAXPROCS, at
	// least 4.
	ReadConns int
	// MaxBatch is how many queued writes one group commit takes at most.
	// Defaults to 256.
	MaxBatch int
	// SkipMigrations makes Open leave the schema alone, for `sluice migrate`
	// (which calls Migrate itself) or a database migrated out of band. Until
	// the schema exists, calls fail with EUNAVAILABLE. Defaults to false:
	// Open applies pending migrations.
	SkipMigrations bool
	// Exclusive makes this process the database's only user that runs
	// workflows: Open takes an advisory lock on PATH-sluice.lock (dropped by
	// the kernel when the process exits, however it exits) and fails with
	// ECONFLICT if another process holds it. `sluice serve` sets it, so that
	// at start-up it may take over the runs a crashed predecessor left
	// running without waiting for their leases to expire. Defaults to false.
	Exclusive bool
	// Synchronous is SQLite's synchronous setting: "full" syncs the WAL to
	// disk at every commit (one sync per group commit), so an acknowledged
	// write survives a power loss or OS crash; "normal" syncs only at WAL
	// checkpoints: it survives a process crash at any point, but a power
	// loss may lose the last commits, for about 25% more step throughput.
	// Defaults to "full".
	Synchronous string
}

// Store is the SQLite workflow.Store. Create it with Open; it is safe for
// concurrent use.
type Store struct {
	cfg  Config
	path string
	wdb  *sql.DB // one connection, used only by the writer goroutine and Migrate
	rdb  *sql.DB // read pool

	// wstmt holds the writer's prepared statements once prepared: by Open,
	// or by the writer goroutine (its only user) on first use when Open
	// skipped migrations.
	wstmt *[numWriteStmts]*sql.Stmt
	// rstmt holds the readers' prepared statements once prepared (rmu
	// serializes preparing and closing them).
	rstmt atomic.Pointer[[numReadStmts]*sql.Stmt]
	rmu   sync.Mutex

	queue      chan *writeOp
	closing    chan struct{} // closed by Close
	writerDone chan struct{} // closed when the writer goroutine exits
	closeOnce  sync.Once
	closeErr   error

	// errs is the writer goroutine's per-batch scratch space.
	errs []error

	lock *processLock // held when cfg.Exclusive
}

var _ workflow.Store = (*Store)(nil)

// Open opens (creating if needed) the SQLite database at path, applies pending
// migrations unless cfg.SkipMigrations, and starts the writer goroutine. Close
// the store when done.
func Open(ctx context.Context, path string, cfg Config) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, workflow.Invalid("invalid database path",
			workflow.FieldError{Path: "/path", Message: "must be a non-empty file path without '?' or '#'"})
	}
	cfg.BusyTimeout = cmp.Or(cfg.BusyTimeout, 5*time.Second)
	cfg.ReadConns = cmp.Or(cfg.ReadConns, max(4, runtime.GOMAXPROCS(0)))
	cfg.MaxBatch = cmp.Or(cfg.MaxBatch, 256)
	cfg.Synchronous = strings.ToLower(cmp.Or(cfg.Synchronous, "full"))
	if cfg.Synchronous != "full" && cfg.Synchronous != "normal" {
		return nil, workflow.Invalid("invalid SQLite config",
			workflow.FieldError{Path: "/synchronous", Message: fmt.Sprintf("must be \"full\" or \"normal\", got %q", cfg.Synchronous)})
	}
	if cfg.BusyTimeout < 0 || cfg.ReadConns < 1 || cfg.MaxBatch < 1 {
		return nil, workflow.Errorf(workflow.EINVALID, "sqlite: invalid config %+v", cfg)
	}

	s := &Store{
		cfg:        cfg,
		path:       path,
		queue:      make(chan *writeOp, cfg.MaxBatch),
		closing:    make(chan struct{}),
		writerDone: make(chan struct{}),
		errs:       make([]error, 0, cfg.MaxBatch),
	}
	if cfg.Exclusive {
		lock, err := lockExclusive(path)
		if err != nil {
			return nil, wrapErr("open", err)
		}
		s.lock = lock
	}
	if err := s.open(ctx); err != nil {
		_ = s.closeDBs()
		_ = s.lock.release()
		return nil, err
	}
	go s.runWriter()
	return s, nil
}

func (s *Store) open(ctx context.Context) error {
	var err error
	if s.wdb, err = sql.Open("sqlite", s.dsn(true)); err != nil {
		return wrapErr("open writer", err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	if err := s.wdb.PingContext(ctx); err != nil {
		return wrapErr("open writer", err)
	}

	if s.rdb, err = sql.Open("sqlite", s.dsn(false)); err != nil {
		return wrapErr("open readers", err)
	}
	s.rdb.SetMaxOpenConns(s.cfg.ReadConns)
	s.rdb.SetMaxIdleConns(s.cfg.ReadConns)
	s.rdb.SetConnMaxIdleTime(0)
	s.rdb.SetConnMaxLifetime(0)

	// Without migrations the schema may not exist yet (`sluice migrate`
	// opens the store to migrate it): statements are then prepared on first
	// use.
	if s.cfg.SkipMigrations {
		return nil
	}
	if err := s.Migrate(ctx); err != nil {
		return err
	}
	if err := s.prepareWrites(ctx); err != nil {
		return err
	}
	_, err = s.readStmts(ctx)
	return err
}

// prepareWrites prepares the writer's statements unless they are. Only Open
// (before the writer goroutine starts) and the writer goroutine call it.
func (s *Store) prepareWrites(ctx context.Context) error {
	if s.wstmt != nil {
		return nil
	}
	var st [numWriteStmts]*sql.Stmt
	for i, q := range writeSQL {
		var err error
		if st[i], err = s.wdb.PrepareContext(ctx, q); err != nil {
			closeStmts(st[:i])
			return wrapErr("prepare", notMigrated(err))
		}
	}
	s.wstmt = &st
	return nil
}

// readStmt returns prepared read statement i, preparing the read statements
// on first use.
func (s *Store) readStmt(ctx context.Context, i readStmt) (*sql.Stmt, error) {
	if st := s.rstmt.Load(); st != nil {
		return st[i], nil
	}
	st, err := s.readStmts(ctx)
	if err != nil {
		return nil, err
	}
	return st[i], nil
}

func (s *Store) readStmts(ctx context.Context) (*[numReadStmts]*sql.Stmt, error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	if st := s.rstmt.Load(); st != nil {
		return st, nil
	}
	select {
	case <-s.closing:
		return nil, wrapErr("prepare", errClosed)
	default:
	}
	var st [numReadStmts]*sql.Stmt
	for i, q := range readSQL {
		var err error
		if st[i], err = s.rdb.PrepareContext(ctx, q); err != nil {
			closeStmts(st[:i])
			return nil, wrapErr("prepare", notMigrated(err))
		}
	}
	s.rstmt.Store(&st)
	return &st, nil
}

// notMigrated explains a missing table.
func notMigrated(err error) error {
	if strings.Contains(err.Error(), "no such table") {
		return fmt.Errorf("%w: %w", workflow.Errorf(workflow.EUNAVAILABLE,
			"the database schema is not migrated: run `sluice migrate`"), err)
	}
	return err
}

func closeStmts(st []*sql.Stmt) {
	for _, s := range st {
		if s != nil {
			_ = s.Close()
		}
	}
}

// dsn returns the data source name of the writer or of a reader connection.
func (s *Store) dsn(writer bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(s.cfg.BusyTimeout.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous("+strings.ToUpper(s.cfg.Synchronous)+")")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "temp_store(MEMORY)")
	if writer {
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	return s.path + "?" + q.Encode()
}

// Migrate applies the pending embedded migrations. Open calls it unless
// Config.SkipMigrations is set; `sluice migrate` calls it on its own.
func (s *Store) Migrate(ctx context.Context) error {
	p, err := goose.NewProvider(goose.DialectSQLite3, s.wdb, mustSub(migrations, "migrations"),
		goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return wrapErr("migrate", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return wrapErr("migrate", err)
	}
	return nil
}

// Ping checks that both the writer and the readers answer.
func (s *Store) Ping(ctx context.Context) error {
	select {
	case <-s.closing:
		return wrapErr("ping", errClosed)
	default:
	}
	if err := s.wdb.PingContext(ctx); err != nil {
		return wrapErr("ping", err)
	}
	if err := s.rdb.PingContext(ctx); err != nil {
		return wrapErr("ping", err)
	}
	return nil
}

// Close stops the writer goroutine (queued writes fail with EUNAVAILABLE) and
// closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		<-s.writerDone
		s.closeErr = errors.Join(s.closeDBs(), s.lock.release())
	})
	return s.closeErr
}

func (s *Store) closeDBs() error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = wrapErr("close", err)
		}
	}
	if s.wstmt != nil {
		for _, st := range s.wstmt {
			keep(st.Close())
		}
	}
	s.rmu.Lock()
	if st := s.rstmt.Load(); st != nil {
		for _, st := range st {
			keep(st.Close())
		}
	}
	s.rmu.Unlock()
	if s.rdb != nil {
		keep(s.rdb.Close())
	}
	if s.wdb != nil {
		keep(s.wdb.Close())
	}
	return first
}

func mustSub(fsys embed.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(fmt.Sprintf("sqlite: embedded migrations: %v", err))
	}
	return sub
}
