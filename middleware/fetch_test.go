package middleware

// How the realm's keys are fetched, seen from an attacker who can make requests give
// up at will and from a realm that fails: the fetch belongs to no request, and a failure
// is retried after a short backoff.

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// holdKeys makes the realm hold every JWKS answer until release is called; arrived
// receives once per held request.
func holdKeys(t *testing.T, realm *fakeRealm) (arrived <-chan struct{}, release func()) {
	t.Helper()
	arr := make(chan struct{}, 64)
	rel := make(chan struct{})
	var once sync.Once
	realm.onKeys(func(w http.ResponseWriter, r *http.Request) bool {
		arr <- struct{}{}
		select {
		case <-rel:
		case <-r.Context().Done():
		}
		return false // then serve the keys
	})
	release = func() { once.Do(func() { close(rel) }) }
	t.Cleanup(release) // before the realm's server closes: it waits for held requests
	return arr, release
}

func TestVerify_RequestGivesUpDuringTheFetch_KeysStillArriveForTheNext(t *testing.T) {
	cases := []struct {
		name string
		// ctx returns the first request's context; arrived says the JWKS request is held.
		ctx  func(arrived <-chan struct{}) context.Context
		want error
	}{
		{"cancelled while the JWKS answer is pending", func(arrived <-chan struct{}) context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			go func() { <-arrived; cancel() }()
			return ctx
		}, context.Canceled},
		{"cancelled before the call", func(<-chan struct{}) context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, context.Canceled},
		{"deadline passed before the call", func(<-chan struct{}) context.Context {
			ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			t.Cleanup(cancel)
			return ctx
		}, context.DeadlineExceeded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			realm, clk, v := newClockedVerifier(t) // frozen: no second fetch may become due
			arrived, release := holdKeys(t, realm)
			token := realm.sign(t, "rsa-1", realm.claims(clk.now()))

			_, err := v.Verify(tc.ctx(arrived), token)
			if !errors.Is(err, ErrUnavailable) || !errors.Is(err, tc.want) || errors.Is(err, ErrInvalidToken) {
				t.Fatalf("the request that gave up: %v, want ErrUnavailable wrapping %v", err, tc.want)
			}
			release()
			if _, err := v.Verify(t.Context(), token); err != nil {
				t.Fatalf("the next request: %v (the first one's giving up poisoned the verifier)", err)
			}
			wantJWKSHits(t, realm, 1, ": the fetch the first request started serves the next")
		})
	}
}

func TestVerify_OneWaiterGivesUp_OthersWaitingGetTheKeys(t *testing.T) {
	realm, clk, v := newClockedVerifier(t)
	arrived, release := holdKeys(t, realm)
	token := realm.sign(t, "rsa-1", realm.claims(clk.now()))

	ctx, cancel := context.WithCancel(context.Background())
	quitter := make(chan error, 1)
	go func() { _, err := v.Verify(ctx, token); quitter <- err }()
	<-arrived // the fetch is under way
	const patient = 8
	results := make(chan error, patient)
	for range patient {
		go func() { _, err := v.Verify(t.Context(), token); results <- err }()
	}
	cancel()
	if err := <-quitter; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled request: %v, want context.Canceled", err)
	}
	release()
	for range patient {
		if err := <-results; err != nil {
			t.Errorf("a patient request: %v", err)
		}
	}
	wantJWKSHits(t, realm, 1, " for one cold start")
}

func TestMiddleware_ClientsHangingUpOnAColdVerifier_DoNotFailOthers(t *testing.T) {
	realm, clk, v := newClockedVerifier(t)
	token := realm.sign(t, "rsa-1", realm.claims(clk.now()))
	h := v.Middleware()(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))

	// An attacker's requests, each abandoned before the verifier could do anything.
	for range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/reports", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	req := httptest.NewRequest(http.MethodGet, "/reports", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("an honest request after the abandoned ones: %d %s", rec.Code, rec.Body)
	}
	wantJWKSHits(t, realm, 1, "")
}

func TestVerify_FailingRealm_RetriedAfterABackoffThatGrows(t *testing.T) {
	failures := []struct {
		name   string
		answer func(w http.ResponseWriter)
	}{
		{"HTTP 503", func(w http.ResponseWriter) { http.Error(w, "down", http.StatusServiceUnavailable) }},
		{"a proxy's HTML page", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>Bad Gateway</html>"))
		}},
		{"HTTP 404", func(w http.ResponseWriter) { http.NotFound(w, nil) }},
	}
	// The realm fails its first three JWKS answers. Each step moves the clock, verifies
	// five times, and says how many fetches there should have been by then.
	steps := []struct {
		advance  time.Duration
		wantHits int64
		wantOK   bool
	}{
		{0, 1, false},              // first use: one fetch, failed
		{firstRetry / 2, 1, false}, // within the backoff: the failure stands, no fetch
		{firstRetry / 2, 2, false}, // backoff over: one retry, failed
		{firstRetry, 2, false},     // the backoff doubled: still waiting
		{firstRetry, 3, false},     // third failure
		{3 * firstRetry, 3, false}, // backoff 4×: still waiting
		{firstRetry, 4, true},      // the realm is back
		{minRefetch, 4, true},      // cached: no more fetches
	}
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			realm, clk, v := newClockedVerifier(t)
			var mu sync.Mutex
			left := 3
			realm.onKeys(func(w http.ResponseWriter, r *http.Request) bool {
				mu.Lock()
				defer mu.Unlock()
				if left == 0 {
					return false
				}
				left--
				f.answer(w)
				return true
			})
			token := realm.tokenUntil(t, "rsa-1", clk.now(), clk.now().Add(time.Hour))
			for i, s := range steps {
				clk.advance(s.advance)
				for range 5 {
					_, err := v.Verify(t.Context(), token)
					if s.wantOK != (err == nil) || (err != nil && !errors.Is(err, ErrUnavailable)) {
						t.Fatalf("step %d: err = %v, want ok=%v (or ErrUnavailable)", i, err, s.wantOK)
					}
				}
				if n := realm.jwksHits.Load(); n != s.wantHits {
					t.Fatalf("step %d: %d JWKS fetches, want %d", i, n, s.wantHits)
				}
			}
		})
	}
}

func TestVerify_LongOutage_RetriedAtLeastEveryMinRefetch(t *testing.T) {
	realm, clk, v := newClockedVerifier(t)
	realm.onKeys(func(w http.ResponseWriter, r *http.Request) bool {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return true
	})
	token := realm.tokenUntil(t, "rsa-1", clk.now(), clk.now().Add(time.Hour))
	for i := range 20 {
		if _, err := v.Verify(t.Context(), token); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("attempt %d: %v, want ErrUnavailable", i, err)
		}
		if n := realm.jwksHits.Load(); n != int64(i+1) {
			t.Fatalf("after %d failures and %v each: %d fetches, want %d (the backoff must stop growing)", i, minRefetch, n, i+1)
		}
		clk.advance(minRefetch)
	}
	realm.onKeys(func(http.ResponseWriter, *http.Request) bool { return false })
	if _, err := v.Verify(t.Context(), token); err != nil {
		t.Fatalf("realm back after a long outage: %v", err)
	}
}

func TestVerify_HungRealm_FetchEndsOnItsOwnTimeout(t *testing.T) {
	realm := newFakeRealm(t)
	clk := &clock{t: time.Now()}
	// No client timeout, and a request that would wait forever: only the fetch's own
	// timeout can end this.
	v := newTestVerifier(t, Config{Issuer: realm.issuer, HTTPClient: &http.Client{}})
	v.now = clk.now
	v.fetchTimeout = 50 * time.Millisecond
	holdKeys(t, realm) // never released before cleanup
	token := realm.sign(t, "rsa-1", realm.claims(clk.now()))
	if _, err := v.Verify(t.Context(), token); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("hung realm: %v, want ErrUnavailable", err)
	}
	realm.onKeys(func(http.ResponseWriter, *http.Request) bool { return false })
	clk.advance(firstRetry)
	if _, err := v.Verify(t.Context(), token); err != nil {
		t.Fatalf("realm answering again: %v", err)
	}
}
