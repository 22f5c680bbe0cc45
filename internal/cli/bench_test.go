package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// BenchmarkWebhooks measures accepted webhooks per second through the real
// HTTP server on SQLite: each op is a POST /api/webhooks/{key} with a new
// Idempotency-Key, answered 202 once the run is durably stored. The engine
// runs alongside (each run's first step is a one-hour delay, so it costs one
// claim and one checkpoint); the access log is written at info level, as in
// production, to io.Discard.
//
//	go test -run x -bench Webhooks -benchtime 20000x ./internal/cli/
func BenchmarkWebhooks(b *testing.B) {
	srv := NewServer(ServerConfig{
		Addr:        "127.0.0.1:0",
		DatabaseURL: "sqlite:" + filepath.Join(b.TempDir(), "bench.db"),
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		NoSeed:      true,
	})
	require.NoError(b, srv.Open(context.Background()))
	defer func() { require.NoError(b, srv.Close()) }()
	transport := &http.Transport{MaxIdleConnsPerHost: 256}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 10 * time.Second}

	def := `{"id":"bench","trigger":{"type":"webhook","key":"bench"},"startAt":"wait",
		"steps":[{"id":"wait","type":"delay","config":{"duration":"1h"}}]}`
	req, err := http.NewRequest(http.MethodPut, srv.URL()+"/api/workflows/bench", bytes.NewBufferString(def))
	require.NoError(b, err)
	resp, err := client.Do(req)
	require.NoError(b, err)
	require.Equal(b, http.StatusCreated, resp.StatusCode)
	resp.Body.Close()

	var next atomic.Int64
	url := srv.URL() + "/api/webhooks/bench"
	b.SetParallelism(16)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.Add(1)
			req, _ := http.NewRequest(http.MethodPost, url, bytes.NewBufferString(fmt.Sprintf(`{"ticket":"T-%d","amount":%d}`, n, n%200)))
			req.Header.Set("Idempotency-Key", fmt.Sprint("k-", n))
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "webhooks/s")
}
