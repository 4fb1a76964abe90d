{{- define "sw.name" -}}store-weaver{{- end -}}
{{- define "sw.labels" -}}
app.kubernetes.io/name: store-weaver
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}
{{- define "sw.selector" -}}
app.kubernetes.io/name: store-weaver
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
