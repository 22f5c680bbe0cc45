package httpcall_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/sluicehq/sluice/internal/step"
	"github.com/sluicehq/sluice/internal/step/httpcall"
)

func TestExecuteNetworkError(t *testing.T) {
	t.Parallel()
	b := setup(t, respond(200, "never"))
	b.srv.Close()

	res, err := b.execute(t, `{"url": "$URL/x"}`)
	require.Nil(t, res)
	require.Error(t, err)
	require.False(t, step.IsPermanent(err), "%v", err)
	require.ErrorContains(t, err, "http GET "+b.srv.URL+"/x: ")
	var statusErr *httpcall.StatusError
	require.NotErrorAs(t, err, &statusErr)
}

// blockingServer answers only when the client gives up (or the test ends).
func blockingServer(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	return srv
}

func TestExecuteTimeout(t *testing.T) {
	t.Parallel()

	t.Run("context deadline", func(t *testing.T) {
		t.Parallel()
		srv := blockingServer(t)
		action, err := httpcall.New(httpcall.Config{Client: srv.Client()}).Compile([]byte(`{"url": "` + srv.URL + `"}`))
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
		defer cancel()
		res, err := action.Execute(ctx, request())
		require.Nil(t, res)
		require.False(t, step.IsPermanent(err), "%v", err)
		require.ErrorContains(t, err, "http GET "+srv.URL+": timed out after ")
		require.ErrorIs(t, err, context.DeadlineExceeded)
	})

	t.Run("config timeout", func(t *testing.T) {
		t.Parallel()
		srv := blockingServer(t)
		action, err := httpcall.New(httpcall.Config{Client: srv.Client()}).Compile([]byte(`{"url": "` + srv.URL + `", "timeout": "20ms"}`))
		require.NoError(t, err)
		_, err = action.Execute(t.Context(), request())
		require.False(t, step.IsPermanent(err), "%v", err)
		require.ErrorContains(t, err, "timed out after ")
	})

	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		srv := blockingServer(t)
		action, err := httpcall.New(httpcall.Config{Client: srv.Client()}).Compile([]byte(`{"url": "` + srv.URL + `"}`))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err = action.Execute(ctx, request())
		require.False(t, step.IsPermanent(err), "%v", err)
		require.ErrorIs(t, err, context.Canceled)
		require.NotContains(t, err.Error(), "timed out")
	})
}
