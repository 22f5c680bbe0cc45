package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildSluice builds ./cmd/sluice of the module the test runs in into dir
// and returns the binary's path. With race set the binary is built with the
// race detector.
func buildSluice(dir string, race bool) (string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if root == "." || root == "" {
		return "", errors.New("go env GOMOD: not in a module")
	}
	bin := filepath.Join(dir, "sluice")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/sluice")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return bin, nil
}

// child is one `sluice serve` process.
type child struct {
	cmd     *exec.Cmd
	logPath string
	log     *logWatcher
	exited  chan struct{} // closed when the process has exited and been reaped
	waitErr error         // valid once exited is closed
}

// childConfig is what every child of one test shares.
type childConfig struct {
	bin    string
	dbPath string
	logDir string
}

// start starts the n-th child. It listens on a port of its own choosing
// (--addr 127.0.0.1:0), which it logs; start does not wait for that.
func (c childConfig) start(t *testing.T, n int) *child {
	t.Helper()
	logPath := filepath.Join(c.logDir, fmt.Sprintf("child-%02d.log", n))
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatalf("create child log: %v", err)
	}
	cmd := exec.Command(c.bin, "serve",
		"--addr", "127.0.0.1:0",
		"--database-url", "sqlite:"+c.dbPath,
		"--lease", leaseFor.String(),
		"--poll-interval", "50ms",
		"--shutdown-timeout", "5s",
		"--no-seed",
		"--log-level", "info",
		"--log-format", "json",
	)
	lw := newLogWatcher(logFile)
	cmd.Stdout = logFile
	cmd.Stderr = lw
	cmd.Env = os.Environ()
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		t.Fatalf("start sluice serve: %v", err)
	}
	ch := &child{cmd: cmd, logPath: logPath, log: lw, exited: make(chan struct{})}
	go func() {
		ch.waitErr = cmd.Wait() // returns once stderr is copied to lw
		_ = logFile.Close()
		close(ch.exited)
	}()
	// A failing test must not leave a server behind.
	t.Cleanup(ch.kill)
	return ch
}

// listeningMsg is the message of the log record in which `sluice serve`
// says where it listens (its attribute "addr" has the real port).
const listeningMsg = "sluice listening"

// logWatcher copies the child's stderr (JSON log records, one a line) to
// its log file and picks the listening address out of it. exec copies the
// pipe into it from one goroutine.
type logWatcher struct {
	file    *os.File
	partial []byte
	found   bool
	addr    chan string // receives the address once
}

func newLogWatcher(f *os.File) *logWatcher {
	return &logWatcher{file: f, addr: make(chan string, 1)}
}

// Write implements io.Writer.
func (w *logWatcher) Write(p []byte) (int, error) {
	n, err := w.file.Write(p)
	if w.found {
		return n, err
	}
	w.partial = append(w.partial, p...)
	for !w.found {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := w.partial[:i]
		w.partial = w.partial[i+1:]
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(line, &rec) == nil && rec.Msg == listeningMsg && rec.Addr != "" {
			w.found, w.partial = true, nil
			w.addr <- rec.Addr
		}
	}
	return n, err
}

// waitReady waits for the child to log its address, then polls /readyz
// until it answers 200, and returns the API's base URL. It fails when the
// child exits first or timeout passes. Polling is the right tool here: the
// child is another process that cannot signal the test.
func (ch *child) waitReady(hc *http.Client, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var base string
	select {
	case addr := <-ch.log.addr:
		base = "http://" + addr
	case <-ch.exited:
		return "", fmt.Errorf("sluice serve exited before it listened: %w", ch.waitErr)
	case <-ctx.Done():
		return "", fmt.Errorf("sluice serve did not log %q within %s", listeningMsg, timeout)
	}
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if ready(ctx, hc, base) {
			return base, nil
		}
		select {
		case <-ch.exited:
			return "", fmt.Errorf("sluice serve exited before it was ready: %w", ch.waitErr)
		case <-ctx.Done():
			return "", fmt.Errorf("sluice serve not ready within %s", timeout)
		case <-tick.C:
		}
	}
}

func ready(ctx context.Context, hc *http.Client, base string) bool {
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, base+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// kill sends SIGKILL and waits for the process to be reaped. It is a no-op
// on an exited child.
func (ch *child) kill() {
	select {
	case <-ch.exited:
		return
	default:
	}
	_ = ch.cmd.Process.Signal(syscall.SIGKILL)
	<-ch.exited
}

// stop asks the child to shut down gracefully (SIGTERM) and waits up to
// timeout for it to exit; it reports an exit that was not clean.
func (ch *child) stop(timeout time.Duration) error {
	if err := ch.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("send SIGTERM: %w", err)
	}
	select {
	case <-ch.exited:
		if ch.waitErr != nil {
			return fmt.Errorf("sluice serve did not exit cleanly after SIGTERM: %w", ch.waitErr)
		}
		return nil
	case <-time.After(timeout):
		ch.kill()
		return fmt.Errorf("sluice serve did not exit within %s of SIGTERM; killed", timeout)
	}
}

// accessLogMsg marks the server's access log records, left out of tails.
const accessLogMsg = `"msg":"http request"`

// logTail returns the last n lines of the child's log, access log left out.
func (ch *child) logTail(n int) string {
	b, err := os.ReadFile(ch.logPath)
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", ch.logPath, err)
	}
	var lines [][]byte
	for _, l := range bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n")) {
		if !bytes.Contains(l, []byte(accessLogMsg)) {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// crashMarkers start the lines a Go program writes when it panics, dies of
// a fatal error or (built with -race) detects a data race.
var crashMarkers = []string{"panic: ", "fatal error: ", "WARNING: DATA RACE"}

// scanLogs returns the lines of the children's logs in dir that start with
// a crash marker, prefixed with the log's name.
func scanLogs(dir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "child-*.log"))
	if err != nil {
		return nil, err
	}
	var found []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		for line := range strings.Lines(string(b)) {
			for _, m := range crashMarkers {
				if strings.HasPrefix(line, m) {
					found = append(found, filepath.Base(p)+": "+strings.TrimSpace(line))
				}
			}
		}
	}
	return found, nil
}
