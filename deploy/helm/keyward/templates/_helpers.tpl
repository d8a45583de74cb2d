{{- define "keyward.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "keyward.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "keyward.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "keyward.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "keyward.selectorLabels" -}}
app.kubernetes.io/name: {{ include "keyward.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "keyward.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "keyward.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "keyward.publicUrl" -}}
{{- if .Values.publicUrl }}
{{- .Values.publicUrl | trimSuffix "/" }}
{{- else }}
{{- printf "http://%s.%s.svc.cluster.local:%v" (include "keyward.fullname" .) .Release.Namespace .Values.service.port }}
{{- end }}
{{- end }}

{{/* An env entry read from a Secret: (list $ "ENV_NAME" .Values.secrets.x). */}}
{{- define "keyward.secretEnv" -}}
{{- $root := index . 0 -}}
{{- $env := index . 1 -}}
{{- $ref := index . 2 -}}
{{- $name := $ref.name | default $root.Values.existingSecret -}}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      name: {{ required (printf "the Secret for %s: set existingSecret or its secrets entry's name" $env) $name | quote }}
      key: {{ required (printf "the Secret key for %s" $env) $ref.key | quote }}
{{- end }}

{{/* More than one pod may run at once. */}}
{{- define "keyward.multiplePods" -}}
{{- if or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1) }}true{{ end }}
{{- end }}

{{/*
Keyward's public paths: what an Ingress routes when a host lists no paths. The API
(/v1), the JWKS and discovery (/.well-known), the API document and the console's pages;
not /metrics, /healthz, /readyz (deploy/chart_test.go holds this list against the
routes Keyward serves).
*/}}
{{- define "keyward.publicPaths" -}}
- {path: /v1, pathType: Prefix}
- {path: /.well-known, pathType: Prefix}
- {path: /openapi.json, pathType: Exact}
- {path: /, pathType: Exact}
- {path: /static, pathType: Prefix}
- {path: /login, pathType: Exact}
- {path: /auth/callback, pathType: Exact}
- {path: /logged-out, pathType: Exact}
- {path: /logout, pathType: Exact}
- {path: /keys, pathType: Prefix}
- {path: /admin, pathType: Prefix}
{{- end }}

{{/*
Paths an Ingress must not reach. An Exact path is refused when it is one of them; any
other when it is a string prefix of one (some controllers match ImplementationSpecific
paths by string prefix).
*/}}
{{- define "keyward.privatePaths" -}}
{{- list "/metrics" "/healthz" "/readyz" | toJson }}
{{- end }}

{{/* The NetworkPolicy is rendered: networkPolicy.enabled, or by default ingress.enabled. */}}
{{- define "keyward.networkPolicyEnabled" -}}
{{- $on := .Values.networkPolicy.enabled }}
{{- if kindIs "invalid" $on }}{{ $on = .Values.ingress.enabled }}{{ end }}
{{- if $on }}true{{ end }}
{{- end }}

{{/* The port /metrics is served on. */}}
{{- define "keyward.metricsPortName" -}}
{{- if .Values.metrics.ownPort }}metrics{{ else }}http{{ end }}
{{- end }}

{{/*
Combinations of values the schema cannot refuse with a clear message; rendered (empty)
by the Deployment, so that helm lint, template and install all fail on them.
*/}}
{{- define "keyward.checkValues" -}}
{{- if and .Values.ingress.enabled (empty .Values.trustedProxies) }}
{{- fail "ingress.enabled needs trustedProxies (KEYWARD_TRUSTED_PROXIES): the addresses or CIDRs of the ingress controller's pods, e.g. --set 'trustedProxies={10.244.0.0/16}'; without them every client has the ingress's address and all share its rate limits" }}
{{- end }}
{{- range .Values.trustedProxies }}
{{- if and (contains "/" .) (eq (atoi (last (splitList "/" .))) 0) }}
{{- fail (printf "trustedProxies %s trusts every address: any client could choose the address Keyward sees; list the ingress controller's pods only" .) }}
{{- end }}
{{- end }}
{{- if and .Values.metrics.ownPort (eq (int .Values.metrics.port) (int .Values.containerPort)) }}
{{- fail "metrics.port must differ from containerPort: the metrics port is a listener of its own" }}
{{- end }}
{{- if include "keyward.networkPolicyEnabled" . }}
{{- $host := regexReplaceAll ":[0-9]+$" (urlParse (include "keyward.publicUrl" .)).host "" }}
{{- $svc := include "keyward.fullname" . }}
{{- $serviceHost := printf "^%s(\\.%s(\\.svc(\\.cluster\\.local)?)?)?$" (regexQuoteMeta $svc) (regexQuoteMeta .Release.Namespace) }}
{{- if and (empty .Values.networkPolicy.clients) (regexMatch $serviceHost $host) }}
{{- fail (printf "networkPolicy: Keycloak fetches the JWKS from the Service (publicUrl is %s): list Keycloak's pods in networkPolicy.clients, or set publicUrl to the ingress's URL" (include "keyward.publicUrl" .)) }}
{{- end }}
{{- end }}
{{- end }}
