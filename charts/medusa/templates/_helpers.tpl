{{/*
Names. fullname is the release name (or fullnameOverride), cut to 40
characters so that "<fullname>-storefront-<revision hash>" and
"data-<fullname>-postgres-0" stay valid names and label values.
*/}}
{{- define "medusa.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "medusa.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "medusa.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* ------------------------------------------------------------ required values */}}
{{- define "medusa.storeId" -}}
{{- $id := required "store.id is required: the engine sets it with --set-string store.id=<uuid>" .Values.store.id | toString -}}
{{- if not (regexMatch "^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$" $id) -}}
{{- fail (printf "store.id %q is not a valid label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)" $id) -}}
{{- end -}}
{{- $id -}}
{{- end -}}

{{- define "medusa.host" -}}
{{- $host := required "store.host is required: the DNS name the store answers on, e.g. --set-string store.host=<slug>.localhost" .Values.store.host | toString -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$" $host) -}}
{{- fail (printf "store.host %q is not a DNS name (lower-case labels of letters, digits and '-', separated by dots)" $host) -}}
{{- end -}}
{{- $host -}}
{{- end -}}

{{- define "medusa.secretName" -}}
{{- required "existingSecret is required: the name of the Secret the engine creates with the store's credentials, keys db-password, admin-password, jwt-secret, cookie-secret (--set-string existingSecret=store-credentials)" .Values.existingSecret -}}
{{- end -}}

{{- define "medusa.url" -}}
{{- printf "%s://%s" (ternary "https" "http" .Values.ingress.tls.enabled) (include "medusa.host" .) -}}
{{- end -}}

{{- define "medusa.adminEmail" -}}
{{- default (printf "admin@%s" (include "medusa.host" .)) .Values.store.adminEmail -}}
{{- end -}}

{{- define "medusa.dbHost" -}}
{{- printf "%s-postgres" (include "medusa.fullname" .) -}}
{{- end -}}

{{- define "medusa.redisHost" -}}
{{- printf "%s-redis" (include "medusa.fullname" .) -}}
{{- end -}}

{{- define "medusa.serverHost" -}}
{{- printf "%s-server" (include "medusa.fullname" .) -}}
{{- end -}}

{{/*
The paths the Medusa server answers (the Ingress sends them to the server
Service, everything else to the storefront): the admin UI, the Admin,
Auth and Store APIs, webhooks, uploads, health and the storefront's start-up
configuration. One list, used by the Ingress and the NOTES.
*/}}
{{- define "medusa.serverPaths" -}}
{{- toJson (list "/app" "/admin" "/auth" "/store" "/hooks" "/static" "/health" "/storefront-config") -}}
{{- end -}}

{{/* --------------------------------------------------------------------- labels
Call with (dict "ctx" $ "component" "server").
selectorLabels: what Deployment/StatefulSet/Service selectors match on (immutable).
stableLabels:   selector labels + part-of + store id; used on pod templates and
                volumeClaimTemplates, which must not change between chart
                versions (a StatefulSet's claim templates are immutable).
labels:         stableLabels + version/managed-by; on every rendered object.
*/}}
{{- define "medusa.selectorLabels" -}}
app.kubernetes.io/name: {{ include "medusa.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "medusa.stableLabels" -}}
{{ include "medusa.selectorLabels" . }}
app.kubernetes.io/part-of: store-weaver
store-weaver.io/store-id: {{ include "medusa.storeId" .ctx | quote }}
{{- end -}}

{{- define "medusa.labels" -}}
{{ include "medusa.stableLabels" . }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
helm.sh/chart: {{ include "medusa.chart" .ctx }}
{{- end -}}

{{/* An image reference from {repository, tag}. */}}
{{- define "medusa.image" -}}
{{- printf "%s:%s" .repository (.tag | toString) -}}
{{- end -}}

{{/* A secretKeyRef env entry: (dict "ctx" $ "name" "ENV_NAME" "key" "secret-key"). */}}
{{- define "medusa.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "medusa.secretName" .ctx }}
      key: {{ .key }}
{{- end -}}

{{/*
Environment of every container that runs Medusa itself (migrate, setup,
await-schema, server, worker). DATABASE_URL is composed by the kubelet from
DB_PASSWORD (dependent variable expansion: DB_PASSWORD must come first), so
the password is never in values, the manifest or a command line.
*/}}
{{- define "medusa.medusaEnv" -}}
{{ include "medusa.secretEnv" (dict "ctx" . "name" "DB_PASSWORD" "key" "db-password") }}
# sslmode=disable: the store's own PostgreSQL speaks no TLS (it is reached
# inside the namespace only), and Medusa with NODE_ENV=production asks for TLS
# unless the URL says otherwise (its migrations then time out).
- name: DATABASE_URL
  value: {{ printf "postgres://%s:$(DB_PASSWORD)@%s:5432/%s?sslmode=disable" .Values.postgres.user (include "medusa.dbHost" .) .Values.postgres.database | quote }}
- name: REDIS_URL
  value: {{ printf "redis://%s:6379" (include "medusa.redisHost" .) | quote }}
{{ include "medusa.secretEnv" (dict "ctx" . "name" "JWT_SECRET" "key" "jwt-secret") }}
{{ include "medusa.secretEnv" (dict "ctx" . "name" "COOKIE_SECRET" "key" "cookie-secret") }}
{{- $origin := include "medusa.url" . }}
- {name: STORE_CORS, value: {{ $origin | quote }}}
- {name: ADMIN_CORS, value: {{ $origin | quote }}}
- {name: AUTH_CORS, value: {{ $origin | quote }}}
- {name: STORE_NAME, value: {{ .Values.store.name | quote }}}
- {name: STORE_CURRENCY, value: {{ .Values.store.currency | quote }}}
# The root file system may be read-only: anything keyed on HOME goes to /tmp.
- {name: HOME, value: /tmp}
{{- end -}}

{{/* NODE_OPTIONS with a heap ceiling in MiB. */}}
{{- define "medusa.nodeOptions" -}}
- {name: NODE_OPTIONS, value: {{ printf "--max-old-space-size=%v" . | quote }}}
{{- end -}}

{{/* Where a store pod runs: nodeSelector, tolerations and affinity, the
     same for every pod of the store. */}}
{{- define "medusa.placement" -}}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
