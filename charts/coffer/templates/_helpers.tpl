{{/*
Labels on every object: kustomize's (config/default adds app.kubernetes.io/part-of) and Helm's.
*/}}
{{- define "coffer.labels" -}}
app.kubernetes.io/part-of: coffer
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- end -}}

{{- define "coffer.controllerLabels" -}}
app.kubernetes.io/name: coffer
app.kubernetes.io/component: controller
{{ include "coffer.labels" . }}
{{- end -}}

{{- define "coffer.runnerLabels" -}}
app.kubernetes.io/name: coffer
app.kubernetes.io/component: runner
{{ include "coffer.labels" . }}
{{- end -}}

{{/* image renders repository:tag. */}}
{{- define "coffer.image" -}}
{{- printf "%s:%s" .repository (toString .tag) -}}
{{- end -}}
