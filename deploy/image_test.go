package deploy

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/internal/pgtest"
	"github.com/keyward/keyward/internal/testkit"
)

// imageUID is the image's user (deploy/Containerfile USER).
const imageUID = "65532"

// podman runs podman on a private storage (--root, --runroot) with the machine's
// settings (deploy/podman/containers.conf: runc, cgroupfs, no default ulimits).
type podman struct {
	storage string
	conf    string
}

func (p podman) args(args ...string) []string {
	return append([]string{"--root", filepath.Join(p.storage, "root"), "--runroot", filepath.Join(p.storage, "run"),
		"--runtime", "runc", "--cgroup-manager", "cgroupfs"}, args...)
}

func (p podman) run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("podman", p.args(args...)...)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+p.conf)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func (p podman) must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := p.run(t, args...)
	if err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// requirePodman skips without podman and buildah, or fails when integration tests
// are required (make test): the image test must run there.
func requirePodman(t testing.TB) {
	t.Helper()
	for _, bin := range []string{"podman", "buildah"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv(testkit.EnvRequireIntegration) == "1" {
				t.Fatalf("image tests required (%s=1) but %s is not on PATH: apt-get install podman buildah runc (.ci/run does)",
					testkit.EnvRequireIntegration, bin)
			}
			t.Skipf("image tests skipped: %s is not on PATH (apt-get install podman buildah runc)", bin)
		}
	}
}

func randomName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// The image `make image` builds runs here as a user would run it: read-only root, no
// capabilities, host networking, against the test Keycloak and PostgreSQL; a key
// created through it is exchanged through it for alice's Keycloak token.
func TestImage_BuildsRunsAndExchangesAKey(t *testing.T) {
	requirePodman(t)
	kc := kctest.Require(t)
	if kc.SigningKeyFile == "" {
		t.Fatal("KEYWARD_TEST_SIGNING_KEY_FILE is not set: run `make test`")
	}
	dsn := pgtest.DSN(t)

	storage, err := os.MkdirTemp("/var/tmp", "keyward-podman-")
	if err != nil {
		t.Fatal(err)
	}
	conf, err := filepath.Abs(repoRoot + "/deploy/podman/containers.conf")
	if err != nil {
		t.Fatal(err)
	}
	p := podman{storage: storage, conf: conf}
	image := "localhost/keyward:" + randomName("test-")
	t.Cleanup(func() {
		if out, err := p.run(t, "rmi", "--all", "--force"); err != nil {
			t.Logf("podman rmi: %v\n%s", err, out)
		}
		if err := os.RemoveAll(storage); err != nil {
			t.Errorf("remove podman storage: %v", err)
		}
	})

	// Build: the script of `make image`, into this test's storage.
	work := t.TempDir()
	build := exec.Command("bash", "scripts/image.sh")
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "KEYWARD_IMAGE="+image, "KEYWARD_PODMAN_ROOT="+storage,
		"KEYWARD_IMAGE_CONTEXT="+filepath.Join(work, "context"), "CONTAINERS_CONF="+conf)
	out, err := build.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/image.sh: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Logf("%s", lines[len(lines)-1])
	if !strings.Contains(lines[len(lines)-1], image) {
		t.Errorf("image.sh's last line %q does not name the image", lines[len(lines)-1])
	}

	t.Run("ImageConfig", func(t *testing.T) {
		var cfg []struct {
			Size   int64
			Config struct {
				User       string
				Entrypoint []string
				Cmd        []string
				Env        []string
				Volumes    map[string]any
				Labels     map[string]string
			}
		}
		if err := json.Unmarshal([]byte(p.must(t, "image", "inspect", image)), &cfg); err != nil || len(cfg) != 1 {
			t.Fatalf("image inspect: %v", err)
		}
		c := cfg[0].Config
		if c.User != imageUID+":"+imageUID {
			t.Errorf("user %q, want %s:%s", c.User, imageUID, imageUID)
		}
		// The image is the keyward command, the server by default; FROM scratch has no
		// PATH, so the image sets one for the entrypoint's lookup.
		if strings.Join(c.Entrypoint, " ") != "keyward" || strings.Join(c.Cmd, " ") != "server" {
			t.Errorf("entrypoint %q cmd %q, want keyward and server", c.Entrypoint, c.Cmd)
		}
		if !slices.Contains(c.Env, "PATH=/usr/local/bin") {
			t.Errorf("env %q lacks PATH=/usr/local/bin", c.Env)
		}
		if _, ok := c.Volumes["/data"]; !ok {
			t.Errorf("volumes %v lack /data", c.Volumes)
		}
		describe := exec.Command("git", "describe", "--tags", "--always", "--dirty")
		describe.Dir = repoRoot
		version, err := describe.Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := c.Labels["org.opencontainers.image.version"]; got != strings.TrimSpace(string(version)) {
			t.Errorf("version label %q, git describe says %q", got, strings.TrimSpace(string(version)))
		}
		if !strings.HasPrefix(c.Labels["org.opencontainers.image.source"], "https://") {
			t.Errorf("source label %q", c.Labels["org.opencontainers.image.source"])
		}
		if !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(c.Labels["org.opencontainers.image.revision"]) {
			t.Errorf("revision label %q is not a commit", c.Labels["org.opencontainers.image.revision"])
		}
		// Small: the binary and a CA bundle, no distribution.
		if cfg[0].Size > 80<<20 {
			t.Errorf("image is %d MiB", cfg[0].Size>>20)
		}
		// Arguments replace the server command: the image runs the CLI too.
		if out := p.must(t, "run", "--rm", "--network", "none", image, "--version"); out != "keyward version "+c.Labels["org.opencontainers.image.version"] {
			t.Errorf("podman run IMAGE --version: %q", out)
		}
		out, err := p.run(t, "run", "--rm", "--network", "none", "--env", "KEYWARD_URL=http://127.0.0.1:9", image, "keys", "list")
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 3 || out != "keyward: not logged in to http://127.0.0.1:9: run keyward login" {
			t.Errorf("podman run IMAGE keys list: %v %q, want exit 3 (not logged in)", err, out)
		}
		// No shell to fall back on: the image holds nothing but Keyward.
		if out, err := p.run(t, "run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", image, "-c", "true"); err == nil {
			t.Errorf("the image runs /bin/sh: %s", out)
		}
	})

	// Run: the data directory a fresh named volume (it starts as the image's /data);
	// the shared Keyward's signing key (Keycloak trusts its JWKS) as a read-only file
	// of the image's user; secrets from an env file, not the command line.
	keyFile := filepath.Join(work, "signing-key.pem")
	key, err := os.ReadFile(kc.SigningKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(keyFile, 65532, 65532); err != nil {
		t.Fatal(err)
	}
	volume := randomName("keyward-data-")
	port := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	envFile := filepath.Join(work, "env")
	settings := map[string]string{
		"KEYWARD_LISTEN_ADDR":         fmt.Sprintf("127.0.0.1:%d", port),
		"KEYWARD_PUBLIC_URL":          kc.PublicURL,
		"KEYWARD_KEYCLOAK_URL":        kc.URL,
		"KEYWARD_REALM":               kc.Realm,
		"KEYWARD_CLIENT_ID":           kc.ClientID,
		"KEYWARD_CLIENT_SECRET":       kc.ClientSecret,
		"KEYWARD_ADMIN_CLIENT_ID":     kc.AdminClientID,
		"KEYWARD_ADMIN_CLIENT_SECRET": kc.AdminClientSecret,
		"KEYWARD_DATABASE_URL":        dsn,
		"KEYWARD_SIGNING_KEY_FILE":    "/etc/keyward/signing-key.pem",
	}
	var envText strings.Builder
	for k, v := range settings {
		fmt.Fprintf(&envText, "%s=%s\n", k, v)
	}
	if err := os.WriteFile(envFile, []byte(envText.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	name := randomName("keyward-test-")
	p.must(t, "run", "--detach", "--name", name, "--network", "host", "--read-only",
		"--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--env-file", envFile,
		"--volume", volume+":/data", "--volume", keyFile+":/etc/keyward/signing-key.pem:ro", image)
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := p.run(t, "logs", name)
			t.Logf("container log:\n%s", logs)
		}
		if out, err := p.run(t, "rm", "--force", "--time", "5", name); err != nil {
			t.Logf("podman rm: %v\n%s", err, out)
		}
	})
	waitReady(t, p, name, url)

	t.Run("RunsAsNonRootOnReadOnlyRoot", func(t *testing.T) {
		pid := p.must(t, "inspect", "--format", "{{.State.Pid}}", name)
		status, err := os.ReadFile("/proc/" + pid + "/status")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(status), "\n") {
			if ids, ok := strings.CutPrefix(line, "Uid:"); ok {
				if f := strings.Fields(ids); len(f) != 4 || f[0] != imageUID || f[1] != imageUID || f[2] != imageUID {
					t.Errorf("keyward runs as uids %v, want %s", f, imageUID)
				}
			}
			if caps, ok := strings.CutPrefix(line, "CapEff:"); ok && strings.Trim(strings.TrimSpace(caps), "0") != "" {
				t.Errorf("effective capabilities %s, want none", strings.TrimSpace(caps))
			}
		}
		mounts, err := os.ReadFile("/proc/" + pid + "/mountinfo")
		if err != nil {
			t.Fatal(err)
		}
		root := ""
		for _, line := range strings.Split(string(mounts), "\n") {
			if f := strings.Fields(line); len(f) > 5 && f[4] == "/" {
				root = f[5]
			}
		}
		if !slices.Contains(strings.Split(root, ","), "ro") {
			t.Errorf("root filesystem mounted %q, want ro", root)
		}
	})

	t.Run("DataDirectoryIsTheVolume", func(t *testing.T) {
		// The pepper Keyward generated lies in the volume, Keyward's alone.
		dir := p.must(t, "volume", "inspect", "--format", "{{.Mountpoint}}", volume)
		for path, mode := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "key-pepper"): 0o600} {
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			owner := st.Sys().(*syscall.Stat_t).Uid
			if st.Mode().Perm() != mode || fmt.Sprint(owner) != imageUID {
				t.Errorf("%s: mode %v owner %d, want %v owned by %s", path, st.Mode().Perm(), owner, mode, imageUID)
			}
		}
	})

	t.Run("KeyCreatedAndExchangedThroughTheContainer", func(t *testing.T) {
		alice := kc.Login(t, "alice")
		created := httpCall(t, "POST", url+"/v1/keys", `{"name":"image-test"}`,
			"Authorization", "Bearer "+alice, "Content-Type", "application/json")
		if created.status != http.StatusCreated {
			t.Fatalf("create key through the container: %d %s", created.status, created.raw)
		}
		apiKey, _ := created.body["key"].(string)
		got := httpCall(t, "POST", url+"/v1/token", "", "X-API-Key", apiKey)
		if got.status != http.StatusOK {
			t.Fatalf("exchange through the container: %d %s", got.status, got.raw)
		}
		token, _ := got.body["access_token"].(string)
		// A Keycloak token of alice's: signed by the realm, issued to the exchange client.
		keys, err := jwk.Fetch(context.Background(), kc.Issuer()+"/protocol/openid-connect/certs")
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := jwt.Parse([]byte(token), jwt.WithKeySet(keys), jwt.WithValidate(true), jwt.WithIssuer(kc.Issuer()))
		if err != nil {
			t.Fatalf("the token is not the realm's: %v", err)
		}
		if want := kc.UserID(t, "alice"); parsed.Subject() != want {
			t.Errorf("token subject %q, want alice (%s)", parsed.Subject(), want)
		}
		if azp, _ := parsed.Get("azp"); azp != kc.ClientID {
			t.Errorf("token azp %v, want %s", azp, kc.ClientID)
		}
		// The container's store is the PostgreSQL database it was given.
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var n int
		if err := db.QueryRow("SELECT count(*) FROM api_keys WHERE name = 'image-test'").Scan(&n); err != nil || n != 1 {
			t.Errorf("keys named image-test in PostgreSQL: %d (%v), want 1", n, err)
		}
		// A forged key gets the one refusal.
		if got := httpCall(t, "POST", url+"/v1/token", "", "X-API-Key", apiKey[:len(apiKey)-1]+"x"); got.status != http.StatusUnauthorized {
			t.Errorf("a forged key: %d %s, want 401", got.status, got.raw)
		}
	})
}

// waitReady waits for /readyz of the container, failing at once when it has exited.
func waitReady(t *testing.T, p podman, name, url string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if state, _ := p.run(t, "inspect", "--format", "{{.State.Status}}", name); state != "running" || time.Now().After(deadline) {
			logs, _ := p.run(t, "logs", name)
			t.Fatalf("container %s (%s) did not become ready:\n%s", name, state, logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type httpReply struct {
	status int
	body   map[string]any
	raw    string
}

func httpCall(t *testing.T, method, url, body string, headers ...string) httpReply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := httpReply{status: resp.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// Without podman the image test skips, and fails under make test, naming what to install.
func TestRequirePodman_MissingFailsWhenIntegrationRequired(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv(testkit.EnvRequireIntegration, "1")
	if r := testkit.Record(t, requirePodman); r.SkipText != "" || !strings.Contains(r.FatalText, "apt-get install podman") {
		t.Errorf("integration required: skip %q, fatal %q; want a failure saying what to install", r.SkipText, r.FatalText)
	}
	t.Setenv(testkit.EnvRequireIntegration, "")
	if r := testkit.Record(t, requirePodman); r.FatalText != "" || !strings.Contains(r.SkipText, "podman") {
		t.Errorf("integration not required: skip %q, fatal %q; want a skip", r.SkipText, r.FatalText)
	}
}
