package deploy

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/keyward/keyward/internal/kctest"
)

// Ctrl-C on `make run | tee log` signals the whole pipeline; tee dies first, and
// stack.sh used to die of SIGPIPE before it stopped Keycloak. The test runs the dev
// stack the same way, on its own ports and run directory (never the CI stack's), sends
// SIGINT to the process group as a terminal does, and waits until no process of that
// run is left. It starts a real Keycloak: one run, about a minute.
func TestStackRun_CtrlCThroughAPipe_StopsKeycloakAndKeyward(t *testing.T) {
	kctest.Require(t) // a Keycloak distribution and a JDK are at hand where the test stack runs
	if _, err := exec.LookPath("env"); err != nil {
		t.Fatal("env(1) is needed to start the pipeline with default signal handling")
	}
	runDir := t.TempDir()
	// Ephemeral ports: never the fixed ones of make run or the test stacks.
	kcPort, mgmtPort, kwPort := strconv.Itoa(freePort(t)), strconv.Itoa(freePort(t)), strconv.Itoa(freePort(t))
	env := []string{
		"KEYCLOAK_HOST=127.0.0.1", "KEYWARD_HOST=127.0.0.1",
		"KEYCLOAK_PORT=" + kcPort, "KEYCLOAK_MGMT_PORT=" + mgmtPort, "KEYWARD_PORT=" + kwPort,
		"KEYWARD_RUN_DIR=" + runDir, "KEYCLOAK_JAVA_HEAP=-Xms128m -Xmx512m",
	}
	// Nothing of the caller's stack settings may leak in (scripts/test.sh exports the CI
	// stack's ports, run directory, URLs and data dir); the cache and the JDK may.
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if (strings.HasPrefix(name, "KEYWARD_") || strings.HasPrefix(name, "KEYCLOAK_")) &&
			name != "KEYWARD_CACHE" && name != "KEYWARD_JVM_DIR" && name != "KEYCLOAK_VERSION" {
			continue
		}
		env = append(env, kv)
	}
	stopLeftovers := func() {
		cmd := exec.Command("bash", filepath.Join(repoRoot, "scripts/keycloak.sh"), "stop")
		cmd.Env = env
		_ = cmd.Run()
		for _, pid := range runProcesses(runDir) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	t.Cleanup(stopLeftovers)

	// As a terminal starts a pipeline: its own process group, default signal handling
	// (a parent started in the background may have left SIGINT ignored).
	logDir := t.TempDir() // not under the run directory: tee is no server of the run
	out, err := os.Create(filepath.Join(logDir, "terminal"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command("env", "--default-signal=INT,PIPE", "bash", "-c", `scripts/stack.sh run 2>&1 | tee "$1"`,
		"bash", filepath.Join(logDir, "run.log"))
	cmd.Dir = repoRoot
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	ready := "http://127.0.0.1:" + kwPort + "/readyz"
	deadline := time.Now().Add(4 * time.Minute) // a build and a Keycloak start on a busy machine
	for {
		if resp, err := http.Get(ready); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("stack.sh run exited before Keyward was ready (%v):\n%s", err, tail(out.Name()))
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("Keyward not ready at %s:\n%s", ready, tail(out.Name()))
		}
	}
	procs := runProcesses(runDir)
	if len(procs) < 2 {
		t.Fatalf("found %d processes of the run (Keycloak and Keyward expected): %v", len(procs), procs)
	}

	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(90 * time.Second):
		t.Fatalf("the pipeline did not end after SIGINT:\n%s", tail(out.Name()))
	}
	// Keycloak's stop waits for its JVM, so nothing should be left; allow the kernel a
	// moment to reap what was just killed.
	deadline = time.Now().Add(10 * time.Second)
	for left := runProcesses(runDir); len(left) > 0; left = runProcesses(runDir) {
		if time.Now().After(deadline) {
			t.Fatalf("after Ctrl-C, processes of the run are still alive: %s\nrun output:\n%s", describe(left), tail(out.Name()))
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, port := range []string{kcPort, kwPort} {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Second); err == nil {
			c.Close()
			t.Errorf("port %s still answers after Ctrl-C", port)
		}
	}
}

// runProcesses lists the live processes whose command line names the run directory:
// Keyward (its binary is built there) and Keycloak (kc.sh and its JVM take their
// database and import paths from it).
func runProcesses(runDir string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(runDir)) {
			continue
		}
		// A zombie is gone for our purpose: it holds no port and no memory.
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
				continue
			}
		}
		pids = append(pids, pid)
	}
	return pids
}

func describe(pids []int) string {
	var b strings.Builder
	for _, pid := range pids {
		cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
		line := strings.ReplaceAll(string(cmdline), "\x00", " ")
		if len(line) > 160 {
			line = line[:160] + "…"
		}
		b.WriteString("\n  " + strconv.Itoa(pid) + " " + line)
	}
	return b.String()
}

// tail is the end of the file at path, for a failure message.
func tail(path string) string {
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}
