{{/* Chart name, truncated to the 63 characters Kubernetes allows. */}}
{{- define "scoring.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name. */}}
{{- define "scoring.fullname" -}}
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

{{- define "scoring.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "scoring.labels" -}}
helm.sh/chart: {{ include "scoring.chart" . }}
{{ include "scoring.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "scoring.selectorLabels" -}}
app.kubernetes.io/name: {{ include "scoring.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "scoring.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "scoring.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "scoring.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The drain time as a .NET TimeSpan (h:mm:ss). */}}
{{- define "scoring.drainTime" -}}
{{- $s := int .Values.shutdown.drainSeconds }}
{{- printf "%d:%02d:%02d" (div $s 3600) (mod (div $s 60) 60) (mod $s 60) }}
{{- end }}

{{/*
Settings shared by the service and the migration Job: the database. Either the whole connection string from
the Secret, or (database.hosts) one built from values, whose password alone comes from the Secret as
PGPASSWORD: Npgsql reads it when the string has none, so the password never passes through a value and
needs no quoting whatever characters it holds.
*/}}
{{- define "scoring.databaseEnv" -}}
{{- $db := .Values.database }}
- name: Database__Provider
  value: {{ $db.provider | quote }}
{{- if $db.hosts }}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ required "database.existingSecret is required" $db.existingSecret }}
      key: {{ required "database.passwordKey is required with database.hosts" $db.passwordKey }}
- name: ConnectionStrings__Scoring
  value: {{ include "scoring.databaseConnection" . | quote }}
{{- else }}
- name: ConnectionStrings__Scoring
  valueFrom:
    secretKeyRef:
      name: {{ required "database.existingSecret is required" $db.existingSecret }}
      key: {{ $db.connectionStringKey }}
{{- end }}
{{- end }}

{{/*
The Npgsql connection string built from database.hosts. Several hosts are the members of a failover
cluster (Patroni): Npgsql connects to the one that accepts writes. Behind PgBouncer in transaction mode a
server connection is the client's only for one transaction, so nothing is prepared on it across
transactions and nothing resets it on return (the service then leaves both settings as given); PgBouncer,
not the client, then follows the primary.
*/}}
{{- define "scoring.databaseConnection" -}}
{{- $db := .Values.database }}
{{- $parts := list (printf "Host=%s" (join "," $db.hosts)) (printf "Database=%s" $db.name) (printf "Username=%s" $db.username) }}
{{- if $db.pgbouncer }}
{{- $parts = append $parts "Max Auto Prepare=0;No Reset On Close=true" }}
{{- else if gt (len $db.hosts) 1 }}
{{- $parts = append $parts "Target Session Attributes=read-write" }}
{{- end }}
{{- with $db.options }}
{{- $parts = append $parts (trimSuffix ";" .) }}
{{- end }}
{{- join ";" $parts }}
{{- end }}

{{/*
The service's Redis settings. Either the whole StackExchange.Redis configuration from the Secret, or
(redis.endpoints) one built from values: every endpoint listed, so the client finds a Redis Cluster's slot
map from whichever answers, with the password from the Secret put in by Kubernetes ($(VAR) expansion of a
variable defined just before), never by a value.
*/}}
{{- define "scoring.redisEnv" -}}
{{- $redis := .Values.redis }}
{{- $secret := required "redis.existingSecret is required when redis.enabled" $redis.existingSecret }}
{{- if $redis.endpoints }}
{{- $parts := $redis.endpoints }}
{{- with $redis.passwordKey }}
- name: SCORING_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ . }}
{{- $parts = append $parts "password=$(SCORING_REDIS_PASSWORD)" }}
{{- end }}
{{- with $redis.options }}
{{- $parts = append $parts (trimSuffix "," .) }}
{{- end }}
- name: ConnectionStrings__Redis
  value: {{ join "," $parts | quote }}
{{- else }}
- name: ConnectionStrings__Redis
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $redis.connectionStringKey }}
{{- end }}
{{- end }}

{{/* The policy file: values.policy when given, else the service's default policy (files/policy.json). */}}
{{- define "scoring.policy" -}}
{{- if .Values.policy }}
{{- toPrettyJson .Values.policy }}
{{- else }}
{{- .Files.Get "files/policy.json" }}
{{- end }}
{{- end }}

{{/*
The reviewer console's settings (Console__*), each only when set so the service's defaults apply otherwise.
Refuses at render time what the service would refuse at start: under Jwt, a client needs an authority (the
shared key cannot sign a browser in) and the HTTP port the console is served on.
*/}}
{{- define "scoring.consoleEnv" -}}
{{- with .Values.console.clientId }}
{{- if eq $.Values.auth.mode "Jwt" }}
{{- if not $.Values.auth.authority }}
{{- fail "console.clientId needs auth.authority: reviewers sign in at an OpenID Connect provider, which the shared signing key is not" }}
{{- end }}
{{- if not $.Values.http.enabled }}
{{- fail "console.clientId needs http.enabled: the console is served on the HTTP port" }}
{{- end }}
{{- end }}
- name: Console__ClientId
  value: {{ . | quote }}
# Behind an Ingress: the scheme the browser used (X-Forwarded-Proto) builds the sign-in redirect URI.
- name: ASPNETCORE_FORWARDEDHEADERS_ENABLED
  value: "true"
{{- with $.Values.console.existingSecret }}
- name: Console__ClientSecret
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.console.secretKey }}
{{- end }}
{{- range $index, $scope := $.Values.console.scopes }}
- name: Console__Scopes__{{ $index }}
  value: {{ $scope | quote }}
{{- end }}
{{- end }}
{{- range $index, $text := .Values.console.rationaleTemplates }}
- name: Console__RationaleTemplates__{{ $index }}
  value: {{ $text | quote }}
{{- end }}
{{- with .Values.console.sessionLifetime }}
- name: Console__SessionLifetime
  value: {{ . | quote }}
{{- end }}
{{- with .Values.console.maxSessionLifetime }}
- name: Console__MaxSessionLifetime
  value: {{ . | quote }}
{{- end }}
{{- end }}
