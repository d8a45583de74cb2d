// Package deploy holds the tests of what ships Keyward: the container image
// (Containerfile, built and run with podman against the test stack), the Helm chart
// (helm lint and template, the rendered manifests against the Kubernetes schemas) and
// the compose file (its Keyward environment against what `keyward server` validates)
// and the Traefik and Envoy gateway recipes (decoded by the gateways' own types).
// Tests only: there is no Go code to deploy here.
package deploy

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/keyward/keyward/config"
)

// repoRoot is the repository, as seen from this package's directory.
const repoRoot = ".."

// kubeVersion is the Kubernetes version the chart is rendered for and validated
// against (schemas shipped by kubernetes-validate, deploy/tools/requirements.txt).
const kubeVersion = "1.33.0"

var toolPaths sync.Map // name → path, or error

// tool returns the path of a chart-test tool that scripts/deploy-tools.sh builds or
// installs once and caches (helm, kubernetes-validate).
func tool(t *testing.T, name string) string {
	t.Helper()
	if v, ok := toolPaths.Load(name); ok {
		if err, bad := v.(error); bad {
			t.Fatal(err)
		}
		return v.(string)
	}
	cmd := exec.Command("bash", "scripts/deploy-tools.sh", name)
	cmd.Dir = repoRoot
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		err = errors.New("scripts/deploy-tools.sh " + name + ": " + err.Error() + "\n" + stderr.String())
		toolPaths.Store(name, err)
		t.Fatal(err)
	}
	path := strings.TrimSpace(string(out))
	toolPaths.Store(name, path)
	return path
}

// run runs a command and returns its combined output and error.
func run(t *testing.T, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// helm runs the pinned helm with its own homes, so that nothing of the user's is read
// or written.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	env := []string{
		"HELM_CACHE_HOME=" + filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME=" + filepath.Join(home, "config"),
		"HELM_DATA_HOME=" + filepath.Join(home, "data"),
	}
	return run(t, env, tool(t, "helm"), args...)
}

// envProblems says what `keyward server` would make of env, the Keyward environment
// of a deployment file: a variable it does not know (a typo is silently ignored at
// start, so it is caught here) or whatever Validate refuses, a required one missing
// included. placeholders stand for values that come from Secrets.
func envProblems(env map[string]string) []string {
	known := map[string]bool{}
	for _, name := range config.Variables() {
		known[name] = true
	}
	var problems []string
	for name := range env {
		if strings.HasPrefix(name, "KEYWARD_") && !known[name] {
			problems = append(problems, name+" is not a setting of keyward server")
		}
	}
	cfg, err := config.Load(nil, func(k string) string { return env[k] })
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		problems = append(problems, err.Error())
	}
	return problems
}

// decodeYAML decodes one YAML document into a generic value (anchors and merge keys
// resolved, as compose does).
func decodeYAML(t *testing.T, data []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("parse YAML: %v", err)
	}
	return doc
}

// dig follows keys (string for maps, int for lists) into a decoded YAML value.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
