{{/*
Names. fullname is the release name (or fullnameOverride), cut to 40
characters so that "<fullname>-mariadb-<revision hash>" and "data-<fullname>-mariadb-0"
stay valid names and label values.
*/}}
{{- define "woocommerce.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "woocommerce.fullname" -}}
{{- default .Release.Name .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{- define "woocommerce.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* ------------------------------------------------------------ required values */}}
{{- define "woocommerce.storeId" -}}
{{- $id := required "store.id is required: the engine sets it with --set-string store.id=<uuid>" .Values.store.id | toString -}}
{{- if not (regexMatch "^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$" $id) -}}
{{- fail (printf "store.id %q is not a valid label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit)" $id) -}}
{{- end -}}
{{- $id -}}
{{- end -}}

{{- define "woocommerce.host" -}}
{{- $host := required "store.host is required: the DNS name the store answers on, e.g. --set-string store.host=<slug>.localhost" .Values.store.host | toString -}}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$" $host) -}}
{{- fail (printf "store.host %q is not a DNS name (lower-case labels of letters, digits and '-', separated by dots)" $host) -}}
{{- end -}}
{{- $host -}}
{{- end -}}

{{- define "woocommerce.secretName" -}}
{{- required "existingSecret is required: the name of the Secret the engine creates with the store's credentials (--set-string existingSecret=store-credentials)" .Values.existingSecret -}}
{{- end -}}

{{- define "woocommerce.url" -}}
{{- printf "%s://%s" (ternary "https" "http" .Values.ingress.tls.enabled) (include "woocommerce.host" .) -}}
{{- end -}}

{{- define "woocommerce.adminEmail" -}}
{{- default (printf "admin@%s" (include "woocommerce.host" .)) .Values.store.adminEmail -}}
{{- end -}}

{{- define "woocommerce.dbHost" -}}
{{- printf "%s-mariadb" (include "woocommerce.fullname" .) -}}
{{- end -}}

{{/* --------------------------------------------------------------------- labels
Call with (dict "ctx" $ "component" "wordpress").
selectorLabels: what Deployment/StatefulSet/Service selectors match on (immutable).
stableLabels:   selector labels + part-of + store id; used on pod templates and
                volumeClaimTemplates, which must not change between chart
                versions (a StatefulSet's claim templates are immutable).
labels:         stableLabels + version/managed-by; on every rendered object.
*/}}
{{- define "woocommerce.selectorLabels" -}}
app.kubernetes.io/name: {{ include "woocommerce.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "woocommerce.stableLabels" -}}
{{ include "woocommerce.selectorLabels" . }}
app.kubernetes.io/part-of: store-weaver
store-weaver.io/store-id: {{ include "woocommerce.storeId" .ctx | quote }}
{{- end -}}

{{- define "woocommerce.labels" -}}
{{ include "woocommerce.stableLabels" . }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
helm.sh/chart: {{ include "woocommerce.chart" .ctx }}
{{- end -}}

{{/* An image reference from {repository, tag}. */}}
{{- define "woocommerce.image" -}}
{{- printf "%s:%s" .repository (.tag | toString) -}}
{{- end -}}

{{/* A secretKeyRef env entry: (dict "ctx" $ "name" "ENV_NAME" "key" "secret-key"). */}}
{{- define "woocommerce.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "woocommerce.secretName" .ctx }}
      key: {{ .key }}
{{- end -}}

{{/*
Environment of every container that runs WordPress code (setup and app):
the image's wp-config-docker.php reads all of it at run time.
*/}}
{{- define "woocommerce.wordpressEnv" -}}
- name: WORDPRESS_DB_HOST
  value: {{ printf "%s:3306" (include "woocommerce.dbHost" .) | quote }}
- name: WORDPRESS_DB_NAME
  value: {{ .Values.database.name | quote }}
- name: WORDPRESS_DB_USER
  value: {{ .Values.database.user | quote }}
{{ include "woocommerce.secretEnv" (dict "ctx" . "name" "WORDPRESS_DB_PASSWORD" "key" "db-password") }}
{{- range $env, $key := dict "WORDPRESS_AUTH_KEY" "wp-auth-key" "WORDPRESS_SECURE_AUTH_KEY" "wp-secure-auth-key" "WORDPRESS_LOGGED_IN_KEY" "wp-logged-in-key" "WORDPRESS_NONCE_KEY" "wp-nonce-key" "WORDPRESS_AUTH_SALT" "wp-auth-salt" "WORDPRESS_SECURE_AUTH_SALT" "wp-secure-auth-salt" "WORDPRESS_LOGGED_IN_SALT" "wp-logged-in-salt" "WORDPRESS_NONCE_SALT" "wp-nonce-salt" }}
{{ include "woocommerce.secretEnv" (dict "ctx" $ "name" $env "key" $key) }}
{{- end }}
- name: WORDPRESS_CONFIG_EXTRA
  value: |
    define('WP_ENVIRONMENT_TYPE', {{ .Values.wordpress.environmentType | squote }});
    /* Core comes from the image tag; an in-place update would vanish with the pod. */
    define('WP_AUTO_UPDATE_CORE', false);
    define('DISALLOW_FILE_EDIT', true);
- name: HOME
  value: /tmp
- name: WP_CLI_CACHE_DIR
  value: /tmp/wp-cli-cache
{{- end -}}

{{/*
Settings of the platform's mu-plugin (files/store-weaver-mu.php), on the
WordPress container only. Nothing secret here but the SMTP password, which is a
secretKeyRef: its value never passes through values or the rendered manifest.
*/}}
{{- define "woocommerce.platformEnv" -}}
{{- $smtp := .Values.smtp -}}
# WP-Cron and Action Scheduler call the store's own URL; inside the pod that is Apache here.
- name: STORE_WEAVER_LOOPBACK_URL
  value: {{ printf "http://127.0.0.1:%v" .Values.wordpress.containerPort | quote }}
- name: STORE_WEAVER_GOOGLE_FONTS
  value: {{ .Values.woocommerce.googleFonts | toString | quote }}
{{- if $smtp.enabled }}
- name: STORE_WEAVER_SMTP_HOST
  value: {{ required "smtp.host is required when smtp.enabled is true" $smtp.host | quote }}
- name: STORE_WEAVER_SMTP_PORT
  value: {{ $smtp.port | toString | quote }}
- name: STORE_WEAVER_SMTP_ENCRYPTION
  value: {{ $smtp.encryption | quote }}
- name: STORE_WEAVER_SMTP_FROM
  value: {{ required "smtp.from is required when smtp.enabled is true" $smtp.from | quote }}
- name: STORE_WEAVER_SMTP_FROM_NAME
  value: {{ default .Values.store.name $smtp.fromName | quote }}
{{- if $smtp.user }}
- name: STORE_WEAVER_SMTP_USER
  value: {{ $smtp.user | quote }}
- name: STORE_WEAVER_SMTP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ default (include "woocommerce.secretName" .) $smtp.passwordSecret }}
      key: {{ $smtp.passwordKey }}
{{- end }}
{{- end }}
{{- end -}}

{{/* Where a store pod runs: nodeSelector, tolerations and affinity, the
     same for every pod of the store. */}}
{{- /* Placement of a pod: (dict "ctx" $ "affinity" <the pod's affinity>),
       the affinity being .Values.affinity or that plus the pod's own terms. */ -}}
{{- define "woocommerce.placement" -}}
{{- with .ctx.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .ctx.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
