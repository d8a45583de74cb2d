package docs

// The shell and Python snippets of README.md and docs/using-keys/*.md run against the
// test stack, in page order, one bash session per page, with their output checked where
// the page shows it: a walk-through that no longer works fails `make test`. The
// convention the pages follow:
//
//   - ```sh (or bash, shell) and ```python blocks run; `sh norun` / `python norun` blocks
//     do not, and their first line says why: `# not run by make test: <why>`.
//   - A ```text block right after a run block (blank lines only between) is its
//     expected output: … matches any text, trailing spaces are ignored.
//   - `<!-- snippet: background -->` right before a block: the block starts processes
//     with & (and may wait for them); their output goes to a log, shown on a failure,
//     and the page's process group is killed at its end. `<!-- snippet: login alice -->`:
//     the runner approves the `keyward login` the block runs, in a headless browser, as alice.
//   - The addresses of `make run` are written literally and replaced here by the test
//     stack's (Keyward, Keycloak) or free ports (the example API, the sidecar).
//
// To run them alone: make test-up, source the test.env it names (it holds
// KEYWARD_TEST_PYTHON too), then go test ./docs -run Snippets. A failure names page:line,
// the block, its output and the output the page shows.
//
// Helpers here are prefixed snip: package docs holds other tests too.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/browsertest"
	"github.com/keyward/keyward/internal/kctest"
	"github.com/keyward/keyward/internal/testkit"
)

const (
	// snipEnvPython names the python of the venv the snippets use (the keyward client,
	// requests, pandas); scripts/test.sh builds it and exports it.
	snipEnvPython = "KEYWARD_TEST_PYTHON"
	// snipEnvDocsRoot, for a manual run only, reads the pages from another checkout;
	// the commands still run in this tree.
	snipEnvDocsRoot = "KEYWARD_DOCS_ROOT"
	snipPageTimeout = 3 * time.Minute
)

// The languages of fences: those run, and those known never to be (code to read,
// configuration, data). Any other language fails the page, so that no command escapes
// the test under a fence the runner does not know.
var (
	snipRunLangs   = []string{"sh", "bash", "shell", "python"}
	snipInertLangs = []string{"", "text", "txt", "plaintext", "go", "gomod", "yaml", "yml", "json", "jsonc",
		"toml", "ini", "properties", "env", "dotenv", "xml", "html", "csv", "tsv", "diff", "mermaid", "sql",
		"hcl", "dockerfile", "containerfile", "nginx", "caddyfile", "caddy", "http", "powerquery", "m",
		"dax", "js", "javascript", "ts", "typescript", "java", "promql", "gotemplate", "jinja", "vb", "vba",
		"markdown", "md"}
)

var (
	snipFence     = regexp.MustCompile("^( *)(`{3,}|~{3,})(.*)$")
	snipDirective = regexp.MustCompile(`^\s*<!--\s*snippet:\s*(.*?)\s*-->\s*$`)
	snipLoginUser = regexp.MustCompile(`^login ([a-z0-9._-]+)$`)
	snipNoRunWhy  = regexp.MustCompile(`^#\s*not run by make test:\s*\S`)
	// A page must not start a stack of its own: the test stack is up, and `make test`
	// inside `make test` would never end.
	snipOwnStack = regexp.MustCompile(`(^|[;&|(]\s*)make\s+(run|up|down|test|test-up|test-down|bench|bench-scale)\b`)
)

// snipBlock is one block the runner runs.
type snipBlock struct {
	line       int    // of the opening fence, 1-based
	lang       string // sh or python
	code       string
	background bool
	loginUser  string
	expect     string // the text block right after it, if any
	expectLine int    // 0: no expected output
}

// snipParse reads a page's blocks. An error names page:line and what to write instead.
func snipParse(name, text string) ([]snipBlock, error) {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	var blocks []snipBlock
	var directive string
	directiveLine := 0
	lastClose := -1    // index of the line closing the last fence
	lastRunnable := -1 // index in blocks of the block that fence held, -1 if not run
	fail := func(line int, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, args...))
	}
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if m := snipDirective.FindStringSubmatch(line); m != nil {
			if directive != "" {
				return nil, fail(directiveLine, "snippet directive not right before a block")
			}
			directive, directiveLine = m[1], i+1
			continue
		}
		if strings.Contains(line, "<!--") && strings.Contains(line, "snippet") {
			return nil, fail(i+1, "malformed snippet directive %q: write <!-- snippet: background --> or <!-- snippet: login USER -->", strings.TrimSpace(line))
		}
		m := snipFence.FindStringSubmatch(line)
		if m == nil || (m[2][0] == '`' && strings.Contains(m[3], "`")) {
			if strings.TrimSpace(line) != "" && directive != "" {
				return nil, fail(directiveLine, "snippet directive not right before a block")
			}
			continue
		}
		open, indent, marker := i, len(m[1]), m[2]
		fields := strings.Fields(m[3])
		lang, attrs := "", []string(nil)
		if len(fields) > 0 {
			lang, attrs = strings.ToLower(fields[0]), fields[1:]
		}
		var body []string
		for i++; ; i++ {
			if i == len(lines) {
				return nil, fail(open+1, "the ```%s block is never closed", lang)
			}
			t := strings.TrimLeft(lines[i], " ")
			if strings.HasPrefix(t, marker) && strings.Trim(t, marker[:1]+" \t") == "" {
				break
			}
			// The block's own indentation (a block in a list item) is not part of the code.
			l := lines[i]
			for k := 0; k < indent && strings.HasPrefix(l, " "); k++ {
				l = l[1:]
			}
			body = append(body, l)
		}
		code := strings.Join(body, "\n")
		onlyBlanksBetween := lastClose >= 0 && strings.TrimSpace(strings.Join(lines[lastClose+1:open], "")) == ""
		prevRunnable := lastRunnable
		lastClose, lastRunnable = i, -1
		norun := slices.Contains(attrs, "norun")
		run := slices.Contains(snipRunLangs, lang)
		switch {
		case norun:
			first := strings.TrimSpace(strings.SplitN(strings.TrimLeft(code, "\n"), "\n", 2)[0])
			if !snipNoRunWhy.MatchString(first) {
				return nil, fail(open+1, "a norun block's first line must say why: # not run by make test: <why>")
			}
			if directive != "" {
				return nil, fail(directiveLine, "snippet directive on a norun block")
			}
		case run:
			if len(attrs) > 0 {
				return nil, fail(open+1, "unknown words %q after ```%s: only norun is known", attrs, lang)
			}
			b := snipBlock{line: open + 1, lang: "sh", code: code}
			if lang == "python" {
				b.lang = "python"
			}
			for n, l := range body {
				if snipOwnStack.MatchString(strings.TrimSpace(l)) {
					return nil, fail(open+2+n, "the block starts a stack of its own (%s): the test stack is up; "+
						"mark it norun with `# not run by make test: <why>`", strings.TrimSpace(l))
				}
			}
			switch d := directive; {
			case d == "":
			case d == "background":
				b.background = true
			case snipLoginUser.MatchString(d):
				b.loginUser = snipLoginUser.FindStringSubmatch(d)[1]
			default:
				return nil, fail(directiveLine, "unknown snippet directive %q: background or login USER", d)
			}
			blocks = append(blocks, b)
			lastRunnable = len(blocks) - 1
		case lang == "text" && onlyBlanksBetween && prevRunnable >= 0:
			if directive != "" {
				return nil, fail(directiveLine, "snippet directive on an expected output")
			}
			b := &blocks[prevRunnable]
			if b.background {
				return nil, fail(open+1, "expected output after a background block: its output is not checked, check it in the next block")
			}
			b.expect, b.expectLine = code, open+1
		case slices.Contains(snipInertLangs, lang):
			if directive != "" {
				return nil, fail(directiveLine, "snippet directive on a ```%s block, which is never run", lang)
			}
		default:
			return nil, fail(open+1, "unknown fence ```%s: write ```sh or ```python (run by make test), "+
				"or add norun with `# not run by make test: <why>` as the first line", m[3])
		}
		directive = ""
	}
	if directive != "" {
		return nil, fail(directiveLine, "snippet directive not right before a block")
	}
	return blocks, nil
}

// snipNormal is text as compared: \n line ends, no trailing spaces, no blank lines
// around it.
func snipNormal(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	return strings.Trim(strings.Join(lines, "\n"), "\n")
}

// snipMatch tells whether output is what a page's text block shows; … there matches any
// text, across lines too.
func snipMatch(expected, output string) bool {
	parts := strings.Split(snipNormal(expected), "…")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(`^` + strings.Join(parts, `(?s:.*)`) + `$`).MatchString(snipNormal(output))
}

// snipConfig is what a page runs with.
type snipConfig struct {
	root        string // the tree commands run in (go run ./examples/…, pip install ./clients/python)
	keywardBin  string // directory holding the keyward built from this tree
	python      string // the venv's python
	keywardURL  string // replaces http://127.0.0.1:8080
	keycloakURL string // replaces http://127.0.0.1:8180
	issuer      string // the realm's issuer, for the example API
	timeout     time.Duration
	env         []string // more variables (the runner's own tests)
}

// snipFailure is a page that did not pass: where, why, and what the reader needs to fix it.
type snipFailure struct {
	where  string // page:line of the block
	reason string
	block  string
	output string
	expect string
	logs   string // the background blocks' output
}

func (f *snipFailure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", f.where, f.reason)
	for _, s := range []struct{ title, text string }{
		{"the block", f.block}, {"its output", f.output}, {"the output the page shows", f.expect}, {"background blocks' output (last lines)", f.logs}} {
		if s.text != "" || (s.title == "its output" && f.block != "") {
			fmt.Fprintf(&b, "\n--- %s:\n%s", s.title, strings.TrimRight(s.text, "\n"))
		}
	}
	return b.String()
}

// snipSubstitute puts the test stack's addresses in place of make run's.
func snipSubstitute(text string, cfg snipConfig, apiAddr, sidecarAddr string) string {
	hostOf := func(u string) string { return strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://") }
	return strings.NewReplacer(
		"http://127.0.0.1:8080", cfg.keywardURL, "127.0.0.1:8080", hostOf(cfg.keywardURL),
		"http://127.0.0.1:8180", cfg.keycloakURL, "127.0.0.1:8180", hostOf(cfg.keycloakURL),
		"127.0.0.1:8090", apiAddr, "127.0.0.1:8000", sidecarAddr,
	).Replace(text)
}

func snipFreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// snipOutput collects what the page's shell prints, read by a goroutine.
type snipOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
	eof bool
}

func (o *snipOutput) copyFrom(r io.Reader) {
	b := make([]byte, 32*1024)
	for {
		n, err := r.Read(b)
		o.mu.Lock()
		o.buf.Write(b[:n])
		if err != nil {
			o.eof = true
		}
		o.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (o *snipOutput) since(start int) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()[start:], o.eof
}

// snipEnviron is the page's environment: the caller's without Keyward's variables (a
// developer's KEYWARD_URL must not leak into a page) and with a home of its own.
func snipEnviron(t testing.TB, cfg snipConfig, home, tmp, apiAddr string) []string {
	t.Helper()
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "KEYWARD_") || slices.Contains([]string{"HOME", "TMPDIR", "PATH", "BASH_ENV", "ENV",
			"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "LISTEN_ADDR", "KEYCLOAK_ISSUER", "API_AUDIENCE"}, k) ||
			strings.HasPrefix(k, "XDG_") {
			continue
		}
		env = append(env, kv)
	}
	// go's caches and settings live under HOME by default: keep the caller's, or go run
	// builds anew, or without the module proxy the caller set.
	goenv, err := exec.Command("go", "env", "GOCACHE", "GOMODCACHE", "GOPATH", "GOENV").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	g := strings.Split(strings.TrimSpace(string(goenv)), "\n")
	env = append(env, "GOCACHE="+g[0], "GOMODCACHE="+g[1], "GOPATH="+g[2], "GOENV="+g[3],
		"HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "TMPDIR="+tmp,
		"PATH="+filepath.Dir(cfg.python)+string(os.PathListSeparator)+cfg.keywardBin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"PIP_DISABLE_PIP_VERSION_CHECK=1", "PYTHONDONTWRITEBYTECODE=1", "NO_COLOR=1", "TERM=dumb",
		// examples/resource-server's settings: the free port, the test realm.
		"LISTEN_ADDR="+apiAddr, "KEYCLOAK_ISSUER="+cfg.issuer)
	return append(env, cfg.env...)
}

// snipRunPage runs one page and returns nil when every block passed.
func snipRunPage(t *testing.T, cfg snipConfig, name, text string) *snipFailure {
	t.Helper()
	apiAddr, sidecarAddr := snipFreeAddr(t), snipFreeAddr(t)
	blocks, err := snipParse(name, snipSubstitute(text, cfg, apiAddr, sidecarAddr))
	if err != nil {
		where, reason, _ := strings.Cut(err.Error(), ": ")
		return &snipFailure{where: where, reason: reason}
	}
	if len(blocks) == 0 {
		return nil
	}
	dir := t.TempDir()
	home, tmp := filepath.Join(dir, "home"), filepath.Join(dir, "tmp")
	for _, d := range []string{home, tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	token := make([]byte, 8)
	_, _ = rand.Read(token)
	mark := "snippet-end-" + hex.EncodeToString(token)

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sh := exec.Command("bash", "--noprofile", "--norc")
	sh.Dir, sh.Env = cfg.root, snipEnviron(t, cfg, home, tmp, apiAddr)
	sh.Stdout, sh.Stderr = w, w
	sh.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its own group, killed whole at the end
	stdin, err := sh.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sh.Start(); err != nil {
		t.Fatalf("bash: %v", err)
	}
	w.Close()
	var out snipOutput
	go out.copyFrom(r)
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = sh.Wait(); close(exited) }()
	killed := false
	kill := func() {
		if killed {
			return
		}
		killed = true
		_ = syscall.Kill(-sh.Process.Pid, syscall.SIGTERM)
		for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			if syscall.Kill(-sh.Process.Pid, 0) != nil {
				break
			}
		}
		_ = syscall.Kill(-sh.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	t.Cleanup(kill) // also when a browser step fails the test
	defer kill()

	deadline := time.Now().Add(cfg.timeout)
	var bgLogs []string
	logs := func() string {
		var b strings.Builder
		for _, p := range bgLogs {
			data, _ := os.ReadFile(p)
			lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
			fmt.Fprintf(&b, "[%s]\n%s\n", filepath.Base(p), strings.Join(lines[max(0, len(lines)-20):], "\n"))
		}
		return b.String()
	}
	if _, err := io.WriteString(stdin, "set -euo pipefail\n"); err != nil {
		t.Fatal(err)
	}
	start := 0
	for n, b := range blocks {
		where := fmt.Sprintf("%s:%d", name, b.line)
		failure := func(reason, output string) *snipFailure {
			return &snipFailure{where: where, reason: reason, block: b.code, output: output, expect: b.expect, logs: logs()}
		}
		file := filepath.Join(dir, fmt.Sprintf("block-%d-line-%d.sh", n+1, b.line))
		code := b.code + "\n"
		if b.lang == "python" {
			eof := "SNIPPET_PY_" + hex.EncodeToString(token)
			code = "python - <<'" + eof + "'\n" + code + eof + "\n"
		}
		if err := os.WriteFile(file, []byte(code), 0o600); err != nil {
			t.Fatal(err)
		}
		// Blocks read no input: a command reading stdin would eat the commands after it.
		cmd := fmt.Sprintf("source %q </dev/null\n", file)
		if b.background {
			// In this shell, so that what it sets carries on; what it starts writes to
			// the log, not into the output of the blocks after it.
			log := filepath.Join(dir, fmt.Sprintf("background-line-%d.log", b.line))
			bgLogs = append(bgLogs, log)
			cmd = fmt.Sprintf("source %q </dev/null >%q 2>&1\n", file, log)
		}
		cmd += fmt.Sprintf("printf '\\n%%s\\n' %s-%d\n", mark, n)
		if _, err := io.WriteString(stdin, cmd); err != nil {
			output, _ := out.since(start)
			return failure("the page's shell ended before the block", output)
		}
		end := fmt.Sprintf("\n%s-%d\n", mark, n)
		approved := b.loginUser == ""
		for {
			output, eof := out.since(start)
			if i := strings.Index(output, end); i >= 0 {
				start += i + len(end)
				output = output[:i]
				if !approved {
					return failure("the block printed no login prompt (open URL in a browser and enter the code CODE)", output)
				}
				if b.expectLine > 0 && !snipMatch(b.expect, output) {
					return failure(fmt.Sprintf("the output is not the one the page shows at line %d", b.expectLine), output)
				}
				t.Logf("%s: ok", where)
				break
			}
			select {
			case <-exited:
				// The shell ended: set -e after a failing command. Let the last output in.
				for i := 0; i < 20 && !eof; i++ {
					time.Sleep(50 * time.Millisecond)
					_, eof = out.since(start)
				}
				output, _ = out.since(start)
				if strings.Contains(output, end) {
					continue
				}
				reason := "the page's shell ended"
				var ee *exec.ExitError
				if errors.As(exitErr, &ee) {
					reason = fmt.Sprintf("exit status %d (the page stops here)", ee.ExitCode())
				}
				return failure(reason, output)
			default:
			}
			if !approved {
				if m := browsertest.DevicePrompt.FindStringSubmatch(output); m != nil {
					approved = true
					t.Logf("%s: approving the device login as %s", where, b.loginUser)
					browsertest.DeviceLogin(t, m[1], m[2], b.loginUser, true)
					continue
				}
			}
			if time.Now().After(deadline) {
				return failure(fmt.Sprintf("the page ran past its %s bound (does a long-running command lack "+
					"its & and <!-- snippet: background -->, or a wait a bound?)", cfg.timeout), output)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	stdin.Close()
	return nil
}

// snipBuildKeyward builds the keyward of this tree for the pages' PATH.
func snipBuildKeyward(t *testing.T, root string) string {
	t.Helper()
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "keyward"), "./cmd/keyward")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/keyward: %v\n%s", err, out)
	}
	return dir
}

func snipRepoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// snipRequirePython is the venv's python, or skips (fails under make test) without one.
func snipRequirePython(t *testing.T) string {
	t.Helper()
	python := testkit.Require(t, snipEnvPython, "Python snippet",
		"scripts/test-python.sh venv builds the venv (make test does), then export "+snipEnvPython+"=<venv>/bin/python")
	abs, err := filepath.Abs(python)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("%s: %v", snipEnvPython, err)
	}
	return abs
}

// snipStackConfig is the configuration for pages on the test stack.
func snipStackConfig(t *testing.T) snipConfig {
	t.Helper()
	kc := kctest.Require(t)
	python := snipRequirePython(t)
	root := snipRepoRoot(t)
	return snipConfig{root: root, keywardBin: snipBuildKeyward(t, root), python: python,
		keywardURL: kc.KeywardURL, keycloakURL: kc.URL, issuer: kc.Issuer(), timeout: snipPageTimeout}
}

// The walk-throughs themselves: README.md and docs/using-keys/*.md.
func TestSnippets_TheWalkThroughsRun(t *testing.T) {
	cfg := snipStackConfig(t)
	docs := cfg.root
	if d := os.Getenv(snipEnvDocsRoot); d != "" {
		docs = d
	}
	pages, _ := filepath.Glob(filepath.Join(docs, "docs", "using-keys", "*.md"))
	pages = append([]string{filepath.Join(docs, "README.md")}, pages...)
	for _, p := range pages {
		name, _ := filepath.Rel(docs, p)
		t.Run(name, func(t *testing.T) {
			text, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if f := snipRunPage(t, cfg, name, string(text)); f != nil {
				t.Fatal(f)
			}
		})
	}
}

// snipTestdataConfig runs the runner's own pages (testdata/snippets): no stack needed,
// made-up addresses for the substitution, SNIPPET_OUT for what a page leaves to check.
func snipTestdataConfig(t *testing.T, timeout time.Duration) (snipConfig, string) {
	t.Helper()
	python := snipRequirePython(t)
	root := snipRepoRoot(t)
	out := t.TempDir()
	keyward, keycloak := "http://127.0.0.1:18999", "http://127.0.0.1:18998"
	return snipConfig{root: root, keywardBin: snipBuildKeyward(t, root), python: python,
		keywardURL: keyward, keycloakURL: keycloak, issuer: keycloak + "/realms/keyward", timeout: timeout,
		env: []string{"SNIPPET_OUT=" + out, "SNIPPET_WANT_KEYWARD=" + keyward, "SNIPPET_WANT_KEYCLOAK=" + keycloak}}, out
}

func snipTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "snippets", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// snipGone waits for the process whose pid a page wrote to file to be gone.
func snipGone(t *testing.T, file string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("the page wrote no pid: %v", err)
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		// A killed process not yet reaped by init is a zombie: gone all the same.
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("the background process %d outlived its page", pid)
		}
	}
}

func TestSnippets_ExpectedOutput_EllipsisMatchesAnyText(t *testing.T) {
	for _, c := range []struct {
		expected, output string
		want             bool
	}{
		{"one", "one\n", true},
		{"one  \ntwo", "one\ntwo   \n\n", true},
		{"one", "one two", false},
		{"a … z", "a b c z", true},
		{"first\n…\nlast", "first\n1\n2\nlast", true},
		{"first\n…\nlast", "first\nlast x", false},
		{"{\"id\":\"…\",\"n\":1}", "{\"id\":\"kw.[x]*\",\"n\":1}", true},
		{"a.c", "abc", false},
	} {
		if got := snipMatch(c.expected, c.output); got != c.want {
			t.Errorf("snipMatch(%q, %q) = %v", c.expected, c.output, got)
		}
	}
}

// The runner on pages written to pass or fail: what carries between blocks, what is
// checked, and that a failure names the page, the line and what went wrong.
func TestSnippets_Runner_PassesOrStopsAtTheFirstFailure(t *testing.T) {
	cfg, out := snipTestdataConfig(t, time.Minute)

	t.Run("passing", func(t *testing.T) {
		if f := snipRunPage(t, cfg, "passing.md", snipTestdata(t, "passing.md")); f != nil {
			t.Fatal(f)
		}
		snipGone(t, filepath.Join(out, "server.pid"))
	})

	for _, c := range []struct {
		page, where string
		in          []string // in the failure's text
		notIn       []string // in the block's output
	}{
		{"wrong-output.md", "wrong-output.md:3", []string{"the output is not the one the page shows at line 7", "--- its output:\none", "--- the output the page shows:\ntwo"}, nil},
		{"failing-command.md", "failing-command.md:3", []string{"exit status 1", "--- its output:\nbefore", "false"}, []string{"never"}},
		{"failing-python.md", "failing-python.md:7", []string{"exit status 3", "answer 42", "raise SystemExit(3)"}, nil},
		{"norun-without-comment.md", "norun-without-comment.md:7", []string{"# not run by make test: <why>"}, nil},
		{"unknown-fence.md", "unknown-fence.md:7", []string{"unknown fence ```console", "norun"}, nil},
		{"own-stack.md", "own-stack.md:8", []string{"make run", "norun"}, nil},
	} {
		t.Run(c.page, func(t *testing.T) {
			os.Remove(filepath.Join(out, "after"))
			f := snipRunPage(t, cfg, c.page, snipTestdata(t, c.page))
			if f == nil {
				t.Fatal("the page passed")
			}
			msg := f.Error()
			if f.where != c.where || !strings.HasPrefix(msg, c.where+": ") {
				t.Errorf("failure at %s, want %s:\n%s", f.where, c.where, msg)
			}
			for _, s := range c.in {
				if !strings.Contains(msg, s) {
					t.Errorf("the failure does not say %q:\n%s", s, msg)
				}
			}
			for _, s := range c.notIn {
				if strings.Contains(f.output, s) {
					t.Errorf("the output holds %q:\n%s", s, msg)
				}
			}
			// The page stops at its first failure; a page that does not parse runs nothing.
			if _, err := os.Stat(filepath.Join(out, "after")); err == nil {
				t.Error("a block after the failure ran")
			}
		})
	}

	t.Run("hangs.md", func(t *testing.T) {
		cfg := cfg
		cfg.timeout = 2 * time.Second
		f := snipRunPage(t, cfg, "hangs.md", snipTestdata(t, "hangs.md"))
		if f == nil || f.where != "hangs.md:9" || !strings.Contains(f.reason, "ran past its 2s bound") {
			t.Fatalf("want a timeout at hangs.md:9, got %v", f)
		}
		snipGone(t, filepath.Join(out, "sleeper.pid"))
	})
}

// The login directive on the real stack: the runner approves `keyward login` in chromium.
func TestSnippets_LoginDirective_ApprovedInTheBrowser(t *testing.T) {
	cfg := snipStackConfig(t)
	if f := snipRunPage(t, cfg, "login.md", snipTestdata(t, "login.md")); f != nil {
		t.Fatal(f)
	}
}

// The parser alone: directives, and text blocks that are not expected outputs.
func TestSnippets_Parse_DirectivesAndMistakesNamed(t *testing.T) {
	blocks, err := snipParse("p.md", "<!-- snippet: login bob -->\n```sh\nkeyward login\n```\n\nProse.\n\n```text\nnot checked\n```\n"+
		"  1. In a list:\n\n     ```python\n     print(1)\n     ```\n     ```text\n     1\n     ```\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 2 || blocks[0].loginUser != "bob" || blocks[0].expectLine != 0 ||
		blocks[1].lang != "python" || blocks[1].code != "print(1)" || blocks[1].expect != "1" || blocks[1].line != 13 {
		t.Fatalf("blocks: %+v", blocks)
	}
	for _, c := range []struct{ page, want string }{
		{"<!-- snippet: background -->\n\nProse.\n```sh\ntrue\n```\n", "p.md:1: snippet directive not right before a block"},
		{"<!-- snippet: later -->\n```sh\ntrue\n```\n", "p.md:1: unknown snippet directive"},
		{"<!-- snippet background -->\n```sh\ntrue\n```\n", "p.md:1: malformed snippet directive"},
		{"<!-- snippet: background -->\n```go\n```\n", "p.md:1: snippet directive on a ```go block"},
		{"<!-- snippet: background -->\n```sh\nx &\n```\n```text\nx\n```\n", "p.md:5: expected output after a background block"},
		{"```sh\ntrue\n", "p.md:1: the ```sh block is never closed"},
		{"```sh -x\ntrue\n```\n", "p.md:1: unknown words"},
		{"```sh norun\n# not run by make test:\n```\n", "p.md:1: a norun block's first line"},
	} {
		if _, err := snipParse("p.md", c.page); err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.page, err, c.want)
		}
	}
}
