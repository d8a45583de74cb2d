package console

import "net/http"

// NotConfigured answers where the console would be when it is off: the root says so,
// every other path is a 404.
func NotConfigured() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		if r.URL.Path != "/" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte("<!doctype html><title>Not found</title><h1>Not found</h1>"))
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`<!doctype html><html lang="en"><title>Keyward</title><h1>The web console is not configured</h1>` +
			`<p>Set KEYWARD_CONSOLE_CLIENT_SECRET (the secret of the realm's console client, KEYWARD_CONSOLE_CLIENT_ID) to turn it on. ` +
			`The JSON API is under <code>/v1</code>.</p></html>`))
	})
}
