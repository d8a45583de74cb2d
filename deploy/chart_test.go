package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/goccy/go-yaml"

	"github.com/keyward/keyward/config"
	"github.com/keyward/keyward/handlers"
)

const (
	chartDir   = repoRoot + "/deploy/helm/keyward"
	fullValues = chartDir + "/ci/full-values.yaml"
)

// manifests is a rendered chart, by kind (each kind rendered at most once here).
type manifests struct {
	text   string
	byKind map[string]map[string]any
}

// render runs helm template with the given extra arguments (-f, --set…) and parses
// every document.
func render(t *testing.T, args ...string) (manifests, error) {
	t.Helper()
	out, err := helm(t, append([]string{"template", "rel", chartDir, "--namespace", "identity",
		"--kube-version", kubeVersion}, args...)...)
	if err != nil {
		return manifests{}, fmt.Errorf("helm template %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	m := manifests{text: out, byKind: map[string]map[string]any{}}
	for _, doc := range strings.Split(out, "\n---") {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatalf("rendered YAML does not parse: %v\n%s", err, doc)
		}
		if obj == nil {
			continue
		}
		kind := str(obj["kind"])
		if _, dup := m.byKind[kind]; dup {
			t.Fatalf("two %s rendered", kind)
		}
		m.byKind[kind] = obj
	}
	return m, nil
}

func mustRender(t *testing.T, args ...string) manifests {
	t.Helper()
	m, err := render(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// validateKube checks rendered manifests against the Kubernetes schemas of kubeVersion,
// strictly (an unknown field fails). It returns the validator's report.
func validateKube(t *testing.T, text string) (string, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "rendered.yaml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return run(t, nil, tool(t, "kubernetes-validate"), "--kubernetes-version", kubeVersion, "--strict", file)
}

var (
	passedLine  = regexp.MustCompile(`(?m)^INFO .* passed for resource (\S+)/`)
	noSchemaFor = regexp.MustCompile(`(?m)^WARN .*Couldn't find schema for kind (\S+) `)
)

// The chart lints, renders and validates with its default values and with every
// optional part on (ci/full-values.yaml); every manifest but the Prometheus Operator's
// ServiceMonitor (a CRD, checked below) is checked against the Kubernetes schemas.
func TestChart_DefaultAndFullValues_LintRenderAndValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		kinds []string
	}{
		{"default values", nil, []string{"Deployment", "PodDisruptionBudget", "Service", "ServiceAccount"}},
		{"full values", []string{"-f", fullValues},
			[]string{"Deployment", "HorizontalPodAutoscaler", "Ingress", "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceAccount", "ServiceMonitor"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if out, err := helm(t, append([]string{"lint", "--strict", chartDir, "--kube-version", kubeVersion}, tc.args...)...); err != nil {
				t.Fatalf("helm lint: %v\n%s", err, out)
			}
			m := mustRender(t, tc.args...)
			var kinds []string
			for k := range m.byKind {
				kinds = append(kinds, k)
			}
			slices.Sort(kinds)
			if !slices.Equal(kinds, tc.kinds) {
				t.Fatalf("rendered %v, want %v", kinds, tc.kinds)
			}
			report, err := validateKube(t, m.text)
			if err != nil {
				t.Fatalf("manifests do not validate against Kubernetes %s: %v\n%s", kubeVersion, err, report)
			}
			validated := map[string]bool{}
			for _, match := range passedLine.FindAllStringSubmatch(report, -1) {
				validated[match[1]] = true
			}
			for _, kind := range tc.kinds {
				if kind == "ServiceMonitor" {
					continue
				}
				if !validated[strings.ToLower(kind)] {
					t.Errorf("%s was not validated:\n%s", kind, report)
				}
			}
			for _, match := range noSchemaFor.FindAllStringSubmatch(report, -1) {
				if match[1] != "ServiceMonitor" {
					t.Errorf("no schema for %s: only the ServiceMonitor CRD may lack one\n%s", match[1], report)
				}
			}
		})
	}
}

// What the issue asks of the Deployment, as the default values render it.
func TestChart_Deployment_ReplicasProbesAndLockedDownPods(t *testing.T) {
	d := mustRender(t).byKind["Deployment"]
	if got := dig(d, "spec", "replicas"); fmt.Sprint(got) != "2" {
		t.Errorf("replicas = %v, want 2", got)
	}
	if got := dig(d, "spec", "strategy", "rollingUpdate", "maxUnavailable"); fmt.Sprint(got) != "0" {
		t.Errorf("maxUnavailable = %v, want 0 (a new pod is ready before an old one goes)", got)
	}
	c := dig(d, "spec", "template", "spec", "containers", 0)
	// The image's entrypoint is keyward (deploy/Containerfile): the pod names the command.
	if cmd, args := dig(c, "command"), fmt.Sprint(dig(c, "args")); cmd != nil || args != "[server]" {
		t.Errorf("container command %v args %s, want the image's entrypoint with args [server]", cmd, args)
	}
	for probe, path := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz", "startupProbe": "/healthz"} {
		if got := str(dig(c, probe, "httpGet", "path")); got != path {
			t.Errorf("%s path = %q, want %s", probe, got, path)
		}
		if got := str(dig(c, probe, "httpGet", "port")); got != str(dig(c, "ports", 0, "name")) {
			t.Errorf("%s port = %q, not the container's port", probe, got)
		}
	}
	for _, r := range []string{"requests", "limits"} {
		if m, _ := dig(c, "resources", r).(map[string]any); len(m) == 0 {
			t.Errorf("no resource %s", r)
		}
	}
	sc := dig(c, "securityContext")
	for field, want := range map[string]string{"readOnlyRootFilesystem": "true", "allowPrivilegeEscalation": "false", "privileged": "false"} {
		if got := fmt.Sprint(dig(sc, field)); got != want {
			t.Errorf("container securityContext.%s = %s, want %s", field, got, want)
		}
	}
	if got := fmt.Sprint(dig(sc, "capabilities", "drop")); got != "[ALL]" {
		t.Errorf("capabilities.drop = %s, want [ALL]", got)
	}
	psc := dig(d, "spec", "template", "spec", "securityContext")
	if fmt.Sprint(dig(psc, "runAsNonRoot")) != "true" {
		t.Error("pod securityContext.runAsNonRoot is not true")
	}
	// The chart's user is the image's (deploy/Containerfile USER).
	containerfile, err := os.ReadFile(repoRoot + "/deploy/Containerfile")
	if err != nil {
		t.Fatal(err)
	}
	user := regexp.MustCompile(`(?m)^USER (\d+):(\d+)$`).FindStringSubmatch(string(containerfile))
	if user == nil {
		t.Fatal("deploy/Containerfile has no numeric USER uid:gid")
	}
	if got := fmt.Sprint(dig(psc, "runAsUser")); got != user[1] {
		t.Errorf("runAsUser = %s, the image's user is %s", got, user[1])
	}
	// A read-only root needs a writable data directory: the emptyDir volume it lives in.
	mounts := fmt.Sprint(dig(c, "volumeMounts"))
	if !strings.Contains(mounts, "mountPath:/data") {
		t.Errorf("no volume at /data: %s", mounts)
	}
	if fmt.Sprint(dig(d, "spec", "template", "spec", "automountServiceAccountToken")) != "false" {
		t.Error("the service account token is mounted: Keyward calls no Kubernetes API")
	}
}

// secretEnv are the settings that must come from a Secret, never from values: those
// config/'s table marks secret.
var secretEnv = config.Secrets()

// containerEnv returns the Deployment's env: plain values, and Secret references as
// "secret:<name>/<key>".
func containerEnv(t *testing.T, d map[string]any) map[string]string {
	t.Helper()
	env := map[string]string{}
	list, _ := dig(d, "spec", "template", "spec", "containers", 0, "env").([]any)
	for _, e := range list {
		name := str(dig(e, "name"))
		if _, dup := env[name]; dup {
			t.Errorf("%s set twice", name)
		}
		if ref := dig(e, "valueFrom", "secretKeyRef"); ref != nil {
			if dig(e, "value") != nil {
				t.Errorf("%s has both a value and a Secret reference", name)
			}
			env[name] = "secret:" + str(dig(ref, "name")) + "/" + str(dig(ref, "key"))
			continue
		}
		env[name] = str(dig(e, "value"))
	}
	return env
}

func TestChart_SecretsReferencedNeverInlined(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want map[string]string // variable → secret:<name>/<key>, "" for absent
	}{
		{"default: one Secret named by existingSecret", nil, map[string]string{
			"KEYWARD_CLIENT_SECRET":         "secret:keyward/client-secret",
			"KEYWARD_ADMIN_CLIENT_SECRET":   "secret:keyward/admin-client-secret",
			"KEYWARD_KEY_PEPPER":            "secret:keyward/key-pepper",
			"KEYWARD_DATABASE_URL":          "secret:keyward/database-url",
			"KEYWARD_REDIS_URL":             "secret:keyward/redis-url",
			"KEYWARD_ENCRYPTION_KEY":        "secret:keyward/encryption-key",
			"KEYWARD_CONSOLE_CLIENT_SECRET": "",
			"KEYWARD_SMTP_URL":              "",
			"KEYWARD_DATABASE_LISTEN_URL":   "",
		}},
		{"full: a Secret per entry where named", []string{"-f", fullValues}, map[string]string{
			"KEYWARD_CLIENT_SECRET":       "secret:keyward-secrets/client-secret",
			"KEYWARD_ADMIN_CLIENT_SECRET": "secret:keyward-admin/secret",
			"KEYWARD_KEY_PEPPER":          "secret:keyward-secrets/key-pepper",
			"KEYWARD_DATABASE_URL":        "secret:keyward-postgres/uri",
			"KEYWARD_REDIS_URL":           "secret:keyward-redis/url",
			"KEYWARD_ENCRYPTION_KEY":      "secret:keyward-secrets/encryption-key",
			"KEYWARD_DATABASE_LISTEN_URL": "secret:keyward-postgres/direct-uri",
		}},
		{"memory backend: no Redis URL", []string{"--set", "rateLimit.backend=memory"}, map[string]string{
			"KEYWARD_REDIS_URL": "",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustRender(t, tc.args...)
			env := containerEnv(t, m.byKind["Deployment"])
			for name, want := range tc.want {
				if got, ok := env[name]; got != want || (want == "" && ok) {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			for _, name := range secretEnv {
				if v, ok := env[name]; ok && !strings.HasPrefix(v, "secret:") {
					t.Errorf("%s is inlined", name)
				}
			}
			if strings.Contains(m.text, "kind: Secret\n") {
				t.Error("the chart renders a Secret: it must only reference existing ones")
			}
		})
	}
}

// placeholders stand for the Secrets' contents when the rendered environment is
// checked the way `keyward server` checks its own.
var placeholders = map[string]string{
	"KEYWARD_CLIENT_SECRET":         "client-secret-from-the-secret",
	"KEYWARD_ADMIN_CLIENT_SECRET":   "admin-secret-from-the-secret",
	"KEYWARD_KEY_PEPPER":            strings.Repeat("p", 32),
	"KEYWARD_DATABASE_URL":          "postgres://keyward@postgres.identity:5432/keyward",
	"KEYWARD_REDIS_URL":             "redis://redis.identity:6379/0",
	"KEYWARD_ENCRYPTION_KEY":        "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
	"KEYWARD_CONSOLE_CLIENT_SECRET": "console-secret-from-the-secret",
	"KEYWARD_SMTP_URL":              "smtps://keyward:mail-password@mail.identity:465",
	"KEYWARD_DATABASE_LISTEN_URL":   "postgres://keyward@postgres-direct.identity:5432/keyward",
}

func withPlaceholders(t *testing.T, env map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range env {
		if strings.HasPrefix(v, "secret:") {
			p, ok := placeholders[k]
			if !ok {
				t.Fatalf("%s comes from a Secret but has no placeholder here", k)
			}
			v = p
		}
		out[k] = v
	}
	return out
}

// The chart's environment is one `keyward server` starts with: every variable known,
// none required missing, every value valid.
func TestChart_EnvironmentIsWhatKeywardValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"default values", nil},
		{"full values", []string{"-f", fullValues}},
		{"memory backend", []string{"--set", "rateLimit.backend=memory", "--set", "replicaCount=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := withPlaceholders(t, containerEnv(t, mustRender(t, tc.args...).byKind["Deployment"]))
			if problems := envProblems(env); len(problems) > 0 {
				t.Errorf("keyward server would refuse this environment:\n%s", strings.Join(problems, "\n"))
			}
		})
	}
	// The check itself finds a typo and a missing requirement.
	env := withPlaceholders(t, containerEnv(t, mustRender(t).byKind["Deployment"]))
	env["KEYWARD_LOG_LEVLE"] = "debug"
	delete(env, "KEYWARD_CLIENT_SECRET")
	got := strings.Join(envProblems(env), "\n")
	for _, want := range []string{"KEYWARD_LOG_LEVLE is not a setting", "KEYWARD_CLIENT_SECRET is required"} {
		if !strings.Contains(got, want) {
			t.Errorf("a broken environment: problems %q lack %q", got, want)
		}
	}
}

// The optional parts point at what the chart runs: the Service's port, the pods' labels.
func TestChart_FullValues_PartsFitTogether(t *testing.T) {
	m := mustRender(t, "-f", fullValues)
	dep, svc := m.byKind["Deployment"], m.byKind["Service"]
	podLabels, _ := dig(dep, "spec", "template", "metadata", "labels").(map[string]any)
	matches := func(what string, selector any) {
		sel, _ := selector.(map[string]any)
		if len(sel) == 0 {
			t.Errorf("%s has no selector", what)
		}
		for k, v := range sel {
			if podLabels[k] != v {
				t.Errorf("%s selects %s=%v, pods have %v", what, k, v, podLabels[k])
			}
		}
	}
	matches("Service", dig(svc, "spec", "selector"))
	matches("PodDisruptionBudget", dig(m.byKind["PodDisruptionBudget"], "spec", "selector", "matchLabels"))
	svcPort := str(dig(svc, "spec", "ports", 0, "name"))
	var svcPorts []string
	for _, p := range dig(svc, "spec", "ports").([]any) {
		svcPorts = append(svcPorts, str(dig(p, "name")))
	}
	if got := str(dig(m.byKind["ServiceMonitor"], "spec", "endpoints", 0, "port")); !slices.Contains(svcPorts, got) {
		t.Errorf("ServiceMonitor scrapes port %q, the Service's are %v", got, svcPorts)
	}
	if got := str(dig(m.byKind["ServiceMonitor"], "spec", "endpoints", 0, "path")); got != "/metrics" {
		t.Errorf("ServiceMonitor path = %q, want /metrics", got)
	}
	svcLabels, _ := dig(svc, "metadata", "labels").(map[string]any)
	for k, v := range dig(m.byKind["ServiceMonitor"], "spec", "selector", "matchLabels").(map[string]any) {
		if svcLabels[k] != v {
			t.Errorf("ServiceMonitor selects %s=%v, the Service has %v", k, v, svcLabels[k])
		}
	}
	name := str(dig(dep, "metadata", "name"))
	if got := str(dig(m.byKind["HorizontalPodAutoscaler"], "spec", "scaleTargetRef", "name")); got != name {
		t.Errorf("HPA scales %q, the Deployment is %q", got, name)
	}
	if dig(dep, "spec", "replicas") != nil {
		t.Error("with autoscaling on, the Deployment still sets replicas (each upgrade would reset the HPA's count)")
	}
	backend := dig(m.byKind["Ingress"], "spec", "rules", 0, "http", "paths", 0, "backend", "service")
	if str(dig(backend, "name")) != str(dig(svc, "metadata", "name")) || str(dig(backend, "port", "name")) != svcPort {
		t.Errorf("Ingress backend %v is not the Service %s:%s", backend, str(dig(svc, "metadata", "name")), svcPort)
	}
	env := containerEnv(t, dep)
	if env["KEYWARD_PUBLIC_URL"] != "https://keyward.example.com" || env["KEYWARD_KEYCLOAK_ISSUER"] != "https://login.example.com/realms/acme" {
		t.Errorf("public URL / issuer not taken from values: %q, %q", env["KEYWARD_PUBLIC_URL"], env["KEYWARD_KEYCLOAK_ISSUER"])
	}
	if env["KEYWARD_TOKEN_CACHE"] != "true" || env["GOMEMLIMIT"] != "200MiB" {
		t.Errorf("config / extraEnv not rendered: %v", env)
	}
}

// A broken value fails helm lint (the values schema) or helm template (a required
// value), with a message that names it.
func TestChart_BrokenValues_Refused(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"replicas not a number", []string{"--set-string", "replicaCount=two"}, "replicaCount"},
		{"no replicas", []string{"--set", "replicaCount=0"}, "replicaCount"},
		{"misspelt value", []string{"--set", "image.repositry=x"}, "repositry"},
		{"unknown top-level value", []string{"--set", "replicas=3"}, "replicas"},
		{"a secret inlined in config", []string{"--set", "config.KEYWARD_CLIENT_SECRET=hunter2"}, "KEYWARD_CLIENT_SECRET"},
		{"the database URL inlined in config", []string{"--set", "config.KEYWARD_DATABASE_URL=postgres://u:p@db/k"}, "KEYWARD_DATABASE_URL"},
		{"the listen URL inlined in config", []string{"--set", "config.KEYWARD_DATABASE_LISTEN_URL=postgres://u:p@db/k"}, "KEYWARD_DATABASE_LISTEN_URL"},
		{"config not a KEYWARD_ setting", []string{"--set", "config.log_level=debug"}, "log_level"},
		{"misspelt setting in config", []string{"--set", "config.KEYWARD_LOG_LEVLE=debug"}, "KEYWARD_LOG_LEVLE"},
		{"a setting the chart sets itself, in config", []string{"--set", "config.KEYWARD_PUBLIC_URL=http://x"}, "KEYWARD_PUBLIC_URL"},
		{"unknown rate-limit backend", []string{"--set", "rateLimit.backend=memcached"}, "backend"},
		{"secret key empty", []string{"--set", "secrets.clientSecret.key="}, "clientSecret"},
		{"Keycloak URL not a URL", []string{"--set", "keycloak.url=keycloak:8080"}, "url"},
		{"no Secret named", []string{"--set", "existingSecret="}, "KEYWARD_CLIENT_SECRET"},
		{"bad probe", []string{"--set", "readinessProbe.periodSeconds=0"}, "periodSeconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lintOut, lintErr := helm(t, append([]string{"lint", "--strict", chartDir, "--kube-version", kubeVersion}, tc.args...)...)
			_, renderErr := render(t, tc.args...)
			if lintErr == nil && renderErr == nil {
				t.Fatalf("accepted:\n%s", lintOut)
			}
			msg := lintOut
			if renderErr != nil {
				msg += renderErr.Error()
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("refused, but the message does not name %q:\n%s", tc.want, msg)
			}
		})
	}
}

// Values the chart's schema leaves to Kubernetes (the security contexts are passed
// through) render, and the Kubernetes schemas refuse them, naming the field.
func TestChart_ManifestsKubernetesRefuses_FailValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"runAsUser not a number", []string{"--set-string", "podSecurityContext.runAsUser=nobody"}, "runAsUser"},
		{"misspelt security field", []string{"--set", "securityContext.readOnlyRootFS=true"}, "readOnlyRootFS"},
		{"resources not a map of quantities", []string{"--set-json", `resources={"requests":{"cpu":[1]}}`}, "cpu"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustRender(t, tc.args...)
			report, err := validateKube(t, m.text)
			if err == nil {
				t.Fatalf("validated:\n%s", report)
			}
			if !strings.Contains(report, tc.want) {
				t.Errorf("refused without naming %q:\n%s", tc.want, report)
			}
		})
	}
}

// documentedWhole are maps of values.yaml that README.md describes as one value.
var documentedWhole = map[string]bool{"resources": true, "podSecurityContext": true, "securityContext": true,
	"readinessProbe": true, "livenessProbe": true, "startupProbe": true,
	"networkPolicy.ingressController": true, "networkPolicy.monitoring": true}

// The chart's README documents every value of values.yaml.
func TestChart_README_DocumentsEveryValue(t *testing.T) {
	data, err := os.ReadFile(chartDir + "/values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(chartDir + "/README.md")
	if err != nil {
		t.Fatal(err)
	}
	var values map[string]any
	if err := yaml.Unmarshal(data, &values); err != nil {
		t.Fatal(err)
	}
	var missing []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		m, ok := v.(map[string]any)
		_, secretRef := m["key"]
		if !ok || len(m) == 0 || secretRef || documentedWhole[prefix] {
			if !bytes.Contains(readme, []byte("`"+prefix+"`")) {
				missing = append(missing, prefix)
			}
			return
		}
		for k, sub := range m {
			walk(strings.TrimPrefix(prefix+"."+k, "."), sub)
		}
	}
	walk("", values)
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("README.md of the chart does not document: %s", strings.Join(missing, ", "))
	}
}

// notInChart are settings of config/ that the chart neither sets nor accepts in
// config, with the reason.
var notInChart = map[string]string{
	"KEYWARD_SIGNING_KEY_FILE":    "the pod mounts no key file: a Secret volume's file is root's or group-readable, which Keyward refuses",
	"KEYWARD_ENCRYPTION_KEY_FILE": "the chart passes the encryption key itself (secrets.encryptionKey), for the same reason",
}

// Every setting of config/ is, for the chart, exactly one of: set by the chart from
// its values, accepted in `config` (the values schema's list, so a misspelt name fails
// helm lint), or listed in notInChart.
func TestChart_ConfigSchema_InStepWithConfig(t *testing.T) {
	data, err := os.ReadFile(chartDir + "/values.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties struct {
			Config struct {
				PropertyNames struct {
					Enum []string `json:"enum"`
				} `json:"propertyNames"`
			} `json:"config"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	role := map[string][]string{}
	for _, name := range schema.Properties.Config.PropertyNames.Enum {
		role[name] = append(role[name], "accepted in config")
	}
	fullData, err := os.ReadFile(fullValues)
	if err != nil {
		t.Fatal(err)
	}
	fromConfig, _ := decodeYAML(t, fullData)["config"].(map[string]any)
	for name := range containerEnv(t, mustRender(t, "-f", fullValues).byKind["Deployment"]) {
		if _, viaConfig := fromConfig[name]; strings.HasPrefix(name, "KEYWARD_") && !viaConfig {
			role[name] = append(role[name], "set by the chart")
		}
	}
	for name := range notInChart {
		role[name] = append(role[name], "not in the chart")
	}
	for _, name := range secretEnv {
		if slices.Contains(schema.Properties.Config.PropertyNames.Enum, name) {
			t.Errorf("%s is a secret but values.schema.json accepts it in config, inline", name)
		}
	}
	known := map[string]bool{}
	for _, name := range config.Variables() {
		known[name] = true
		if len(role[name]) != 1 {
			t.Errorf("%s: %v; want exactly one of: set by the chart, in values.schema.json's config list, in notInChart", name, role[name])
		}
	}
	for name, roles := range role {
		if !known[name] {
			t.Errorf("%s (%v) is not a setting of config/", name, roles)
		}
	}
}

// ingressOn are the values of the smallest deployment behind an ingress: the proxies
// whose X-Forwarded-For is believed, and a public URL through the ingress (so that
// Keycloak fetches the JWKS there, not from the Service the NetworkPolicy closes).
var ingressOn = []string{"--set", "ingress.enabled=true", "--set", "trustedProxies={10.244.0.0/16}",
	"--set", "publicUrl=https://keyward.example.com"}

// operationalPaths are served to the cluster only: the ingress must never route them.
var operationalPaths = []string{"/metrics", "/healthz", "/readyz"}

// refused renders and lints with args and returns both outputs when either fails.
func refused(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	lintOut, lintErr := helm(t, append([]string{"lint", "--strict", chartDir, "--kube-version", kubeVersion}, args...)...)
	_, renderErr := render(t, args...)
	msg := lintOut
	if renderErr != nil {
		msg += renderErr.Error()
	}
	return msg, lintErr != nil || renderErr != nil
}

// Finding 4 of issue 20: behind an ingress without trusted proxies every client has
// the ingress pod's address, so one client's forged keys throttle everybody.
func TestChart_Ingress_WithoutTrustedProxies_Refused(t *testing.T) {
	msg, failed := refused(t, "--set", "ingress.enabled=true", "--set", "publicUrl=https://keyward.example.com")
	if !failed {
		t.Fatal("an ingress without trustedProxies rendered")
	}
	for _, want := range []string{"ingress.enabled needs trustedProxies", "KEYWARD_TRUSTED_PROXIES"} {
		if !strings.Contains(msg, want) {
			t.Errorf("refused without naming %q:\n%s", want, msg)
		}
	}

	// With them: rendered, and Keyward is told.
	env := containerEnv(t, mustRender(t, ingressOn...).byKind["Deployment"])
	if got := env["KEYWARD_TRUSTED_PROXIES"]; got != "10.244.0.0/16" {
		t.Errorf("KEYWARD_TRUSTED_PROXIES = %q, want 10.244.0.0/16", got)
	}
	env = containerEnv(t, mustRender(t, append(ingressOn, "--set", "trustedProxies={10.244.0.0/16,fd00::/56}")...).byKind["Deployment"])
	if got := env["KEYWARD_TRUSTED_PROXIES"]; got != "10.244.0.0/16,fd00::/56" {
		t.Errorf("KEYWARD_TRUSTED_PROXIES = %q, want both ranges comma-separated", got)
	}

	// A Service-only deployment needs none (the peer is the client).
	m := mustRender(t)
	if _, ok := m.byKind["Ingress"]; ok {
		t.Error("an Ingress rendered by default")
	}
	if v, ok := containerEnv(t, m.byKind["Deployment"])["KEYWARD_TRUSTED_PROXIES"]; ok {
		t.Errorf("KEYWARD_TRUSTED_PROXIES = %q without an ingress", v)
	}
}

// Trusting every address lets every client choose the address Keyward sees; so does
// something that is not an address.
func TestChart_TrustedProxies_Unsafe_Refused(t *testing.T) {
	for _, tc := range []struct{ name, value, want string }{
		{"every IPv4 address", "0.0.0.0/0", "trusts every address"},
		{"every IPv6 address", "::/0", "trusts every address"},
		{"every address beside a proxy", "10.244.0.0/16,0.0.0.0/0", "trusts every address"},
		{"every IPv6 address, spelt otherwise", "0::/0", "trusts every address"},
		{"every IPv4 address, spelt otherwise", "10.0.0.0/00", "trusts every address"},
		{"a host name", "proxy.internal", "trustedProxies"},
		{"a regular expression", "10.*", "trustedProxies"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, failed := refused(t, append(ingressOn, "--set", "trustedProxies={"+tc.value+"}")...)
			if !failed {
				t.Fatalf("trustedProxies %s accepted", tc.value)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("refused without naming %q:\n%s", tc.want, msg)
			}
		})
	}
}

// ingressRule is one path of a rendered Ingress.
type ingressRule struct{ host, path, pathType, service, port string }

func ingressRules(t *testing.T, m manifests) []ingressRule {
	t.Helper()
	var rules []ingressRule
	hosts, _ := dig(m.byKind["Ingress"], "spec", "rules").([]any)
	for _, h := range hosts {
		paths, _ := dig(h, "http", "paths").([]any)
		for _, p := range paths {
			rules = append(rules, ingressRule{host: str(dig(h, "host")), path: str(dig(p, "path")),
				pathType: str(dig(p, "pathType")), service: str(dig(p, "backend", "service", "name")),
				port: str(dig(p, "backend", "service", "port", "name"))})
		}
	}
	if len(rules) == 0 {
		t.Fatal("the Ingress has no paths")
	}
	return rules
}

// routes reports whether the rule takes a request for path as Kubernetes defines it
// (Prefix: whole path elements).
func (r ingressRule) routes(path string) bool {
	switch r.pathType {
	case "Exact":
		return path == r.path
	case "Prefix":
		p := strings.TrimSuffix(r.path, "/")
		return p == "" || path == p || strings.HasPrefix(path, p+"/")
	}
	return strings.HasPrefix(path, r.path)
}

// mayRoute is routes for a controller that matches by string prefix (ingress-nginx
// with regular expressions, ImplementationSpecific paths): what no rule may reach.
func (r ingressRule) mayRoute(path string) bool {
	if r.pathType == "Exact" {
		return strings.TrimSuffix(r.path, "/") == path
	}
	return strings.HasPrefix(path, strings.TrimSuffix(r.path, "/"))
}

// servedPaths are example paths of every route Keyward serves: the API's route table
// and the console's pages (read from its source: its mux is not exported).
func servedPaths(t *testing.T) []string {
	t.Helper()
	param := regexp.MustCompile(`(:[a-z_]+|\{[a-z_]+\})`)
	gin.SetMode(gin.TestMode)
	engine := handlers.New(handlers.Config{Metrics: http.NotFoundHandler()})
	var paths []string
	for _, r := range engine.Routes() {
		paths = append(paths, param.ReplaceAllString(r.Path, "x"))
	}
	src, err := os.ReadFile(repoRoot + "/console/console.go")
	if err != nil {
		t.Fatal(err)
	}
	pages := regexp.MustCompile(`c\.mux\.Handle(?:Func)?\("(?:[A-Z]+ )?(/[^"]*)"`).FindAllStringSubmatch(string(src), -1)
	if len(pages) < 10 {
		t.Fatalf("found %d console pages in console/console.go: the pattern no longer reads it", len(pages))
	}
	for _, p := range pages {
		path := strings.ReplaceAll(param.ReplaceAllString(p[1], "x"), "{$}", "")
		if strings.HasSuffix(path, "/") && path != "/" {
			path += "x" // a subtree pattern, e.g. /static/
		}
		paths = append(paths, path)
	}
	slices.Sort(paths)
	return slices.Compact(paths)
}

// The Ingress routes every public route Keyward serves, through the HTTP port only, and
// none of /metrics, /healthz, /readyz: not even to a controller matching by string
// prefix.
func TestChart_Ingress_RoutesPublicPathsOnly(t *testing.T) {
	served := servedPaths(t)
	for _, op := range operationalPaths {
		if !slices.Contains(served, op) {
			t.Fatalf("Keyward no longer serves %s: update operationalPaths", op)
		}
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"default paths, metrics on the HTTP port", append(ingressOn, "--set", "metrics.ownPort=false")},
		{"default paths, metrics on their own port", append(ingressOn, "--set", "metrics.ownPort=true")},
		{"full values", []string{"-f", fullValues}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustRender(t, tc.args...)
			rules := ingressRules(t, m)
			svcName := str(dig(m.byKind["Service"], "metadata", "name"))
			for _, r := range rules {
				if r.service != svcName || r.port != "http" {
					t.Errorf("%s%s goes to %s:%s, want %s:http", r.host, r.path, r.service, r.port, svcName)
				}
				for _, op := range operationalPaths {
					if r.mayRoute(op) || r.mayRoute(op+"/") {
						t.Errorf("%s %s (%s) routes %s", r.host, r.path, r.pathType, op)
					}
				}
			}
			// The host with Keyward's public paths (the first) reaches every other route.
			host := rules[0].host
			for _, path := range served {
				if slices.Contains(operationalPaths, path) {
					continue
				}
				if !slices.ContainsFunc(rules, func(r ingressRule) bool { return r.host == host && r.routes(path) }) {
					t.Errorf("%s: the Ingress does not route %s (add it to keyward.publicPaths in _helpers.tpl)", host, path)
				}
			}
		})
	}
}

// An ingress path that would reach /metrics, /healthz or /readyz is refused, naming it.
func TestChart_Ingress_PathsReachingOperationalEndpoints_Refused(t *testing.T) {
	for _, tc := range []struct{ path, pathType, want string }{
		{"/", "Prefix", "path / would route /metrics"},
		{"/", "ImplementationSpecific", "path / would route /metrics"},
		{"/metrics", "Exact", "path /metrics would route /metrics"},
		{"/metrics/", "Prefix", "path /metrics/ would route /metrics"},
		{"/m", "ImplementationSpecific", "path /m would route /metrics"},
		{"/ready", "Prefix", "path /ready would route /readyz"},
		{"/healthz", "Prefix", "path /healthz would route /healthz"},
		{"/.*", "ImplementationSpecific", "path"},
		{"/(v1|metrics)", "ImplementationSpecific", "path"},
		{"/v1/../metrics", "Prefix", "path"},
		{"/v1//metrics", "Prefix", "path"},
	} {
		t.Run(tc.pathType+" "+tc.path, func(t *testing.T) {
			hosts := fmt.Sprintf(`ingress.hosts=[{"host":"keyward.example.com","paths":[{"path":"/v1","pathType":"Prefix"},{"path":%q,"pathType":%q}]}]`, tc.path, tc.pathType)
			args := append(slices.Clone(ingressOn), "--set-json", hosts)
			msg, failed := refused(t, args...)
			if !failed {
				t.Fatalf("path %s (%s) accepted", tc.path, tc.pathType)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("refused without naming %q:\n%s", tc.want, msg)
			}
		})
	}
	// Exact / is the console's start page, not a prefix.
	hosts := `ingress.hosts=[{"host":"keyward.example.com","paths":[{"path":"/","pathType":"Exact"},{"path":"/v1","pathType":"Prefix"}]}]`
	mustRender(t, append(slices.Clone(ingressOn), "--set-json", hosts)...)
}

// The ServiceMonitor scrapes /metrics where Keyward serves it: the Service port "http"
// by default, the Service port "metrics" (the container's metrics port, the address
// Keyward is told to listen on) with metrics.ownPort.
func TestChart_ServiceMonitor_ScrapesTheMetricsPort(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		port string
	}{
		{"metrics on the HTTP port", []string{"--set", "serviceMonitor.enabled=true", "--set", "metrics.ownPort=false"}, "http"},
		{"metrics on their own port", []string{"--set", "serviceMonitor.enabled=true", "--set", "metrics.ownPort=true", "--set", "metrics.port=9102"}, "metrics"},
		{"full values", []string{"-f", fullValues}, "metrics"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustRender(t, tc.args...)
			ep := dig(m.byKind["ServiceMonitor"], "spec", "endpoints", 0)
			if got := str(dig(ep, "port")); got != tc.port {
				t.Fatalf("ServiceMonitor scrapes port %q, want %q", got, tc.port)
			}
			if got := str(dig(ep, "path")); got != "/metrics" {
				t.Errorf("ServiceMonitor path = %q, want /metrics", got)
			}
			target := ""
			svcPorts, _ := dig(m.byKind["Service"], "spec", "ports").([]any)
			for _, p := range svcPorts {
				if str(dig(p, "name")) == tc.port {
					target = str(dig(p, "targetPort"))
				}
			}
			if target == "" {
				t.Fatalf("the Service has no port %q: %v", tc.port, svcPorts)
			}
			dep := m.byKind["Deployment"]
			containerPort := ""
			cports, _ := dig(dep, "spec", "template", "spec", "containers", 0, "ports").([]any)
			for _, p := range cports {
				if str(dig(p, "name")) == target {
					containerPort = fmt.Sprint(dig(p, "containerPort"))
				}
			}
			if containerPort == "" {
				t.Fatalf("the Service's %s targets %q, no container port of that name", tc.port, target)
			}
			env := containerEnv(t, dep)
			listen, metricsListen := env["KEYWARD_LISTEN_ADDR"], env["KEYWARD_METRICS_LISTEN_ADDR"]
			if tc.port == "http" {
				if metricsListen != "" || !strings.HasSuffix(listen, ":"+containerPort) {
					t.Errorf("metrics on the HTTP port: listen %q, metrics listen %q, container port %s", listen, metricsListen, containerPort)
				}
				return
			}
			if !strings.HasSuffix(metricsListen, ":"+containerPort) || strings.HasSuffix(listen, ":"+containerPort) {
				t.Errorf("metrics port %s: KEYWARD_METRICS_LISTEN_ADDR %q, KEYWARD_LISTEN_ADDR %q", containerPort, metricsListen, listen)
			}
		})
	}
	msg, failed := refused(t, "--set", "metrics.ownPort=true", "--set", "metrics.port=8080")
	if !failed || !strings.Contains(msg, "metrics.port must differ from containerPort") {
		t.Errorf("metrics on the HTTP port's number: failed %v\n%s", failed, msg)
	}
}

// policyRule is one ingress rule of the rendered NetworkPolicy.
type policyRule struct {
	ports []string
	from  []any
}

func networkPolicyRules(t *testing.T, np map[string]any) []policyRule {
	t.Helper()
	var rules []policyRule
	list, _ := dig(np, "spec", "ingress").([]any)
	for _, r := range list {
		var pr policyRule
		ports, _ := dig(r, "ports").([]any)
		for _, p := range ports {
			pr.ports = append(pr.ports, str(dig(p, "port")))
		}
		pr.from, _ = dig(r, "from").([]any)
		if len(pr.ports) == 0 || len(pr.from) == 0 {
			t.Errorf("a rule without ports or peers admits every port or every peer: %v", r)
		}
		rules = append(rules, pr)
	}
	return rules
}

// peers are the peers admitted to a named port, each as "namespace-labels | pod-labels".
func peers(rules []policyRule, port string) []string {
	var out []string
	for _, r := range rules {
		if slices.Contains(r.ports, port) {
			for _, p := range r.from {
				out = append(out, fmt.Sprint(dig(p, "namespaceSelector", "matchLabels"))+" | "+fmt.Sprint(dig(p, "podSelector", "matchLabels")))
			}
		}
	}
	slices.Sort(out)
	return out
}

// A wide trusted range lets any pod in it forge X-Forwarded-For (pass a key's IP list,
// dodge or aim the per-address limits): with an ingress the NetworkPolicy admits only
// the ingress controller to the HTTP port and the monitoring namespace to the metrics.
func TestChart_NetworkPolicy_AdmitsOnlyWhatValuesName(t *testing.T) {
	const (
		ingressPeer    = "map[kubernetes.io/metadata.name:ingress-nginx] | map[app.kubernetes.io/name:ingress-nginx]"
		monitoringPeer = "map[kubernetes.io/metadata.name:monitoring] | <nil>" // podSelector {}: every pod there
		keycloakPeer   = "map[kubernetes.io/metadata.name:identity] | map[app.kubernetes.io/name:keycloak]"
	)
	keycloak := `networkPolicy.clients=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"identity"}},"podSelector":{"matchLabels":{"app.kubernetes.io/name":"keycloak"}}}]`
	for _, tc := range []struct {
		name          string
		args          []string
		rendered      bool
		http, metrics []string
	}{
		{"no ingress: none", nil, false, nil, nil},
		{"ingress: on, metrics on the HTTP port", append(ingressOn, "--set", "metrics.ownPort=false"), true,
			[]string{ingressPeer, monitoringPeer}, nil},
		{"ingress, metrics on their own port", append(ingressOn, "--set", "metrics.ownPort=true"), true,
			[]string{ingressPeer}, []string{monitoringPeer}},
		{"ingress, turned off", append(ingressOn, "--set", "networkPolicy.enabled=false"), false, nil, nil},
		{"no ingress, turned on, Keycloak a client", []string{"--set", "networkPolicy.enabled=true", "--set-json", keycloak,
			"--set", "metrics.ownPort=true"}, true, []string{keycloakPeer}, []string{monitoringPeer}},
		{"selectors from values", append(ingressOn, "--set", "metrics.ownPort=true",
			"--set", "networkPolicy.ingressController.namespaceSelector.matchLabels.team=edge",
			"--set", "networkPolicy.monitoring.podSelector.matchLabels.app=prometheus"), true,
			[]string{"map[kubernetes.io/metadata.name:ingress-nginx team:edge] | map[app.kubernetes.io/name:ingress-nginx]"},
			[]string{"map[kubernetes.io/metadata.name:monitoring] | map[app:prometheus]"}},
		{"full values", []string{"-f", fullValues}, true,
			[]string{"map[kubernetes.io/metadata.name:identity] | map[app.kubernetes.io/name:keycloak]",
				"map[kubernetes.io/metadata.name:ingress] | map[app.kubernetes.io/component:controller app.kubernetes.io/name:ingress-nginx]"},
			[]string{"map[kubernetes.io/metadata.name:observability] | map[app.kubernetes.io/name:prometheus]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustRender(t, tc.args...)
			np, ok := m.byKind["NetworkPolicy"]
			if ok != tc.rendered {
				t.Fatalf("NetworkPolicy rendered: %v, want %v", ok, tc.rendered)
			}
			if !ok {
				return
			}
			podLabels, _ := dig(m.byKind["Deployment"], "spec", "template", "metadata", "labels").(map[string]any)
			sel, _ := dig(np, "spec", "podSelector", "matchLabels").(map[string]any)
			if len(sel) == 0 {
				t.Fatal("the NetworkPolicy selects every pod of the namespace")
			}
			for k, v := range sel {
				if podLabels[k] != v {
					t.Errorf("NetworkPolicy selects %s=%v, Keyward's pods have %v", k, v, podLabels[k])
				}
			}
			if got := fmt.Sprint(dig(np, "spec", "policyTypes")); got != "[Ingress]" {
				t.Errorf("policyTypes = %s, want [Ingress] (egress is not restricted)", got)
			}
			rules := networkPolicyRules(t, np)
			var containerPorts []string
			cports, _ := dig(m.byKind["Deployment"], "spec", "template", "spec", "containers", 0, "ports").([]any)
			for _, p := range cports {
				containerPorts = append(containerPorts, str(dig(p, "name")))
			}
			for _, r := range rules {
				for _, p := range r.ports {
					if !slices.Contains(containerPorts, p) {
						t.Errorf("the NetworkPolicy admits port %q, the container's are %v", p, containerPorts)
					}
				}
			}
			if got := peers(rules, "http"); !slices.Equal(got, tc.http) {
				t.Errorf("HTTP port admits\n  %v\nwant\n  %v", got, tc.http)
			}
			if got := peers(rules, "metrics"); !slices.Equal(got, tc.metrics) {
				t.Errorf("metrics port admits\n  %v\nwant\n  %v", got, tc.metrics)
			}
			if report, err := validateKube(t, m.text); err != nil {
				t.Errorf("does not validate: %v\n%s", err, report)
			}
		})
	}
}

// With the NetworkPolicy on, Keycloak can fetch the JWKS from the Service only if it
// is admitted: a public URL that is the Service, with no clients listed, is refused.
func TestChart_NetworkPolicy_KeycloakShutOutOfTheJWKS_Refused(t *testing.T) {
	base := []string{"--set", "ingress.enabled=true", "--set", "trustedProxies={10.244.0.0/16}"}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"publicUrl empty (the Service)", nil},
		{"publicUrl the Service's cluster name", []string{"--set", "publicUrl=http://rel-keyward.identity.svc.cluster.local:8080"}},
		{"publicUrl the Service's short name", []string{"--set", "publicUrl=http://rel-keyward.identity:8080"}},
		{"publicUrl the Service's name", []string{"--set", "publicUrl=http://rel-keyward:8080"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg, failed := refused(t, append(slices.Clone(base), tc.args...)...)
			if !failed {
				t.Fatal("rendered")
			}
			if !strings.Contains(msg, "networkPolicy.clients") {
				t.Errorf("refused without naming networkPolicy.clients:\n%s", msg)
			}
		})
	}
	mustRender(t, append(slices.Clone(base), "--set", "publicUrl=https://rel-keyward.example.com")...)
	mustRender(t, append(slices.Clone(base), "--set", "networkPolicy.enabled=false")...)
}
