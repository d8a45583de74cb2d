package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const composeFile = repoRoot + "/docker-compose.keycloak.yml"

var keywardReplicas = []string{"keyward-1", "keyward-2"}

func loadCompose(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	return decodeYAML(t, data)
}

// composeEnv is a service's environment, as a map (compose also takes a list of
// NAME=value).
func composeEnv(t *testing.T, service any) map[string]string {
	t.Helper()
	env := map[string]string{}
	switch e := dig(service, "environment").(type) {
	case map[string]any:
		for k, v := range e {
			env[k] = fmt.Sprint(v)
		}
	case []any:
		for _, item := range e {
			k, v, _ := strings.Cut(fmt.Sprint(item), "=")
			env[k] = v
		}
	case nil:
	default:
		t.Fatalf("environment is a %T", e)
	}
	return env
}

// Keyward runs from the image of deploy/Containerfile, twice, on PostgreSQL with Redis.
func TestCompose_TwoReplicasFromTheContainerfile_OnPostgresWithRedis(t *testing.T) {
	doc := loadCompose(t)
	services, _ := doc["services"].(map[string]any)
	for _, name := range []string{"keycloak", "postgres", "redis"} {
		if services[name] == nil {
			t.Errorf("no %s service", name)
		}
	}
	var volumes []string
	for _, name := range keywardReplicas {
		s := services[name]
		if s == nil {
			t.Fatalf("no %s service", name)
		}
		context, dockerfile := str(dig(s, "build", "context")), str(dig(s, "build", "dockerfile"))
		if got := filepath.Clean(filepath.Join(context, dockerfile)); got != filepath.Join("deploy", "Containerfile") {
			t.Errorf("%s builds from %q, want deploy/Containerfile", name, got)
		}
		// The context is what scripts/image.sh --context assembles.
		if filepath.Clean(context) != filepath.Join("bin", "image") {
			t.Errorf("%s build context %q is not scripts/image.sh's bin/image", name, context)
		}
		if cmd := fmt.Sprint(dig(s, "command"), dig(s, "entrypoint")); strings.Contains(cmd, "go") {
			t.Errorf("%s runs %s: the image's entrypoint is keyward server", name, cmd)
		}
		// The image's entrypoint is keyward (deploy/Containerfile): the service names the command.
		if cmd, entry := fmt.Sprint(dig(s, "command")), dig(s, "entrypoint"); cmd != "[server]" || entry != nil {
			t.Errorf("%s: command %s entrypoint %v, want the image's entrypoint with command [server]", name, cmd, entry)
		}
		if dig(s, "read_only") != true {
			t.Errorf("%s: root filesystem not read-only", name)
		}
		if !strings.Contains(fmt.Sprint(dig(s, "networks", "default", "aliases")), "keyward") {
			t.Errorf("%s is not reachable as keyward (the issuer the realm trusts)", name)
		}
		env := composeEnv(t, s)
		if !strings.HasPrefix(env["KEYWARD_DATABASE_URL"], "postgres://") || !strings.Contains(env["KEYWARD_DATABASE_URL"], "@postgres:") {
			t.Errorf("%s does not use the postgres service", name)
		}
		if env["KEYWARD_RATE_LIMIT_BACKEND"] != "redis" || !strings.Contains(env["KEYWARD_REDIS_URL"], "//redis:") {
			t.Errorf("%s does not limit through the redis service", name)
		}
		deps := fmt.Sprint(dig(s, "depends_on"))
		for _, dep := range []string{"postgres", "redis", "keycloak"} {
			if !strings.Contains(deps, dep) {
				t.Errorf("%s does not wait for %s", name, dep)
			}
		}
		// Both replicas must sign with one key and hash with one pepper: one data volume.
		for _, v := range dig(s, "volumes").([]any) {
			if strings.HasSuffix(fmt.Sprint(v), ":/data") {
				volumes = append(volumes, fmt.Sprint(v))
			}
		}
	}
	if len(volumes) != 2 || volumes[0] != volumes[1] {
		t.Errorf("the replicas' data volumes are %v, want one shared volume", volumes)
	}
	kcEnv := composeEnv(t, services["keycloak"])
	for _, name := range keywardReplicas {
		if got := composeEnv(t, services[name])["KEYWARD_PUBLIC_URL"]; got != kcEnv["KEYWARD_PUBLIC_URL"] {
			t.Errorf("%s KEYWARD_PUBLIC_URL %q, the realm is imported with %q", name, got, kcEnv["KEYWARD_PUBLIC_URL"])
		}
	}
}

// Each replica's environment is one `keyward server` starts with: every variable
// known, none required missing, every value valid.
func TestCompose_KeywardEnvironmentIsWhatKeywardValidates(t *testing.T) {
	services, _ := loadCompose(t)["services"].(map[string]any)
	for _, name := range keywardReplicas {
		env := composeEnv(t, services[name])
		if problems := envProblems(env); len(problems) > 0 {
			t.Errorf("%s: keyward server would refuse this environment:\n%s", name, strings.Join(problems, "\n"))
		}
	}
	// The check itself: a misspelt setting and a missing secret are found.
	env := composeEnv(t, services[keywardReplicas[0]])
	env["KEYWARD_RATE_LIMT_BACKEND"] = "redis"
	delete(env, "KEYWARD_ADMIN_CLIENT_SECRET")
	got := strings.Join(envProblems(env), "\n")
	for _, want := range []string{"KEYWARD_RATE_LIMT_BACKEND is not a setting", "KEYWARD_ADMIN_CLIENT_SECRET is required"} {
		if !strings.Contains(got, want) {
			t.Errorf("a broken environment: problems %q lack %q", got, want)
		}
	}
}

// The compose file and the chart configure the same settings, but for the ones
// listed here with the reason.
func TestCompose_InStepWithTheChart(t *testing.T) {
	onlyInChart := map[string]string{
		"KEYWARD_KEY_PEPPER":          "compose's replicas share the pepper generated on their common volume",
		"KEYWARD_ENCRYPTION_KEY":      "compose's replicas share the encryption key generated on their common volume",
		"KEYWARD_METRICS_LISTEN_ADDR": "compose routes nothing from outside but the published port; its Prometheus-less dev stack keeps /metrics there",
	}
	onlyInCompose := map[string]string{
		"KEYWARD_CONSOLE_CLIENT_SECRET": "the dev realm's console secret; the chart's console is optional (secrets.consoleClientSecret)",
	}
	services, _ := loadCompose(t)["services"].(map[string]any)
	composed := composeEnv(t, services[keywardReplicas[0]])
	charted := containerEnv(t, mustRender(t).byKind["Deployment"])
	var differ []string
	for name := range charted {
		if _, ok := composed[name]; !ok && onlyInChart[name] == "" {
			differ = append(differ, name+" only in the chart")
		}
	}
	for name := range composed {
		if _, ok := charted[name]; !ok && onlyInCompose[name] == "" {
			differ = append(differ, name+" only in the compose file")
		}
	}
	slices.Sort(differ)
	if len(differ) > 0 {
		t.Errorf("compose file and chart out of step: %s", strings.Join(differ, ", "))
	}
}
