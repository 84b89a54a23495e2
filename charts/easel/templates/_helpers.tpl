{{/*
Naming. fullname is truncated to 63 characters (DNS label) minus room for "-redis-headless".
*/}}
{{- define "easel.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "easel.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 48 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 48 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 48 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "easel.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels shared by every object. */}}
{{- define "easel.labels" -}}
helm.sh/chart: {{ include "easel.chart" . }}
app.kubernetes.io/name: {{ include "easel.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: easel
{{- end }}

{{/* Selector labels of the easel pods. */}}
{{- define "easel.selectorLabels" -}}
app.kubernetes.io/name: {{ include "easel.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{/* Selector labels of the bundled Redis pod. */}}
{{- define "easel.redis.selectorLabels" -}}
app.kubernetes.io/name: {{ include "easel.name" . }}-redis
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end }}

{{- define "easel.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "easel.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The easel image reference: digest wins over tag; the tag defaults to appVersion. */}}
{{- define "easel.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "easel.redis.fullname" -}}
{{- printf "%s-redis" (include "easel.fullname" .) }}
{{- end }}

{{- define "easel.sessionSecretName" -}}
{{- default (printf "%s-session" (include "easel.fullname" .)) .Values.session.existingSecret }}
{{- end }}

{{- define "easel.sessionSecretKey" -}}
{{- if .Values.session.existingSecret }}{{ .Values.session.existingSecretKey }}{{ else }}session-keys{{ end }}
{{- end }}

{{/*
The Secret holding the Redis password, and its key. Empty when Redis has no password
(an external Redis without one).
*/}}
{{- define "easel.redisSecretName" -}}
{{- if .Values.redis.enabled }}
{{- default (printf "%s-redis" (include "easel.fullname" .)) .Values.redis.auth.existingSecret }}
{{- else if .Values.externalRedis.existingSecret }}
{{- .Values.externalRedis.existingSecret }}
{{- else if .Values.externalRedis.password }}
{{- printf "%s-external-redis" (include "easel.fullname" .) }}
{{- end }}
{{- end }}

{{/*
The Secret holding the sentinels' own password (externalRedis.sentinel), and its key.
Empty when the sentinels have no password of their own.
*/}}
{{- define "easel.sentinelSecretName" -}}
{{- with .Values.externalRedis.sentinel }}
{{- if .existingSecret }}
{{- .existingSecret }}
{{- else if .password }}
{{- printf "%s-external-redis" (include "easel.fullname" $) }}
{{- end }}
{{- end }}
{{- end }}

{{- define "easel.sentinelSecretKey" -}}
{{- if .Values.externalRedis.sentinel.existingSecret }}{{ .Values.externalRedis.sentinel.existingSecretKey }}{{ else }}sentinel-password{{ end }}
{{- end }}

{{- define "easel.redisSecretKey" -}}
{{- if .Values.redis.enabled }}
{{- if .Values.redis.auth.existingSecret }}{{ .Values.redis.auth.existingSecretKey }}{{ else }}redis-password{{ end }}
{{- else if .Values.externalRedis.existingSecret }}
{{- .Values.externalRedis.existingSecretKey }}
{{- else }}redis-password
{{- end }}
{{- end }}

{{/* The number of replicas that run at least: decides the PDB and the NOTES warning. */}}
{{- define "easel.minReplicas" -}}
{{- if .Values.autoscaling.enabled }}{{ .Values.autoscaling.minReplicas }}{{ else }}{{ .Values.replicaCount }}{{ end }}
{{- end }}

{{/* The IngressClass: explicit, or the provider's usual class. */}}
{{- define "easel.ingressClassName" -}}
{{- if .Values.ingress.className }}{{ .Values.ingress.className }}
{{- else if eq .Values.affinity.provider "ingress-nginx" }}nginx
{{- else if eq .Values.affinity.provider "traefik" }}traefik
{{- end }}
{{- end }}

{{/*
easel's non-secret configuration, as EASEL_* variables (rendered into the ConfigMap).
One naming rule: flag --foo-bar is EASEL_FOO_BAR.
*/}}
{{- define "easel.configData" -}}
EASEL_ADDR: ":8080"
EASEL_SESSION_STORE: {{ .Values.session.store | quote }}
EASEL_SESSION_TTL: {{ .Values.session.ttl | quote }}
EASEL_SESSION_LIFETIME: {{ .Values.session.lifetime | quote }}
EASEL_COOKIE_NAME: {{ .Values.session.cookie.name | quote }}
EASEL_COOKIE_SECURE: {{ .Values.session.cookie.secure | quote }}
EASEL_LOG_FORMAT: {{ .Values.config.logFormat | quote }}
EASEL_LOG_LEVEL: {{ .Values.config.logLevel | quote }}
EASEL_MAX_UPLOAD_BYTES: {{ .Values.config.maxUploadBytes | int64 | quote }}
EASEL_MAX_UPLOAD_PIXELS: {{ .Values.config.maxUploadPixels | int64 | quote }}
EASEL_BLOB_CACHE_BYTES: {{ .Values.config.blobCacheBytes | int64 | quote }}
EASEL_PREVIEW_EDGE: {{ .Values.config.previewEdge | int64 | quote }}
EASEL_AI_BACKEND: {{ .Values.config.aiBackend | quote }}
{{- with .Values.config.aiUrl }}
EASEL_AI_URL: {{ . | quote }}
{{- end }}
{{- with .Values.config.aiBaseUrl }}
EASEL_AI_BASE_URL: {{ . | quote }}
{{- end }}
EASEL_DRAIN_DELAY: {{ printf "%ds" (.Values.shutdown.drainDelaySeconds | int) | quote }}
EASEL_SHUTDOWN_TIMEOUT: {{ printf "%ds" (.Values.shutdown.timeoutSeconds | int) | quote }}
{{- with .Values.config.trustedProxies }}
EASEL_TRUSTED_PROXIES: {{ join "," . | quote }}
{{- end }}
EASEL_UPLOADS_PER_MINUTE: {{ .Values.config.uploadsPerMinute | int64 | quote }}
EASEL_UPLOAD_BYTES_PER_HOUR: {{ .Values.config.uploadBytesPerHour | toString | quote }}
EASEL_SESSION_UPLOADS_PER_MINUTE: {{ .Values.config.sessionUploadsPerMinute | int64 | quote }}
EASEL_SESSION_UPLOAD_BYTES_PER_HOUR: {{ .Values.config.sessionUploadBytesPerHour | toString | quote }}
EASEL_STORE_HIGH_WATER: {{ .Values.config.storeHighWater | toString | quote }}
{{- with .Values.blobs.store }}
EASEL_BLOB_STORE: {{ . | quote }}
{{- end }}
{{- if eq .Values.blobs.store "s3" }}
{{- with .Values.blobs.s3 }}
EASEL_S3_ENDPOINT: {{ .endpoint | quote }}
EASEL_S3_BUCKET: {{ .bucket | quote }}
EASEL_S3_REGION: {{ .region | quote }}
EASEL_S3_PREFIX: {{ .prefix | quote }}
EASEL_S3_PATH_STYLE: {{ .pathStyle | quote }}
EASEL_S3_PRESIGN: {{ .presign | quote }}
EASEL_S3_PRESIGN_TTL: {{ .presignTTL | quote }}
EASEL_S3_SWEEP_INTERVAL: {{ .sweepInterval | quote }}
{{- if .existingSecret }}
EASEL_S3_ACCESS_KEY_ID_FILE: "/var/run/secrets/easel/s3/access-key-id"
EASEL_S3_SECRET_ACCESS_KEY_FILE: "/var/run/secrets/easel/s3/secret-access-key"
{{- end }}
{{- if .caBundle }}
EASEL_S3_CA_FILE: "/etc/easel/s3-ca/ca.pem"
{{- end }}
{{- end }}
{{- end }}
{{- if eq .Values.session.store "redis" }}
{{- if .Values.redis.enabled }}
EASEL_REDIS_URL: {{ printf "redis://%s:6379/0" (include "easel.redis.fullname" .) | quote }}
{{- else }}
{{- with .Values.externalRedis }}
{{- if .url }}
EASEL_REDIS_URL: {{ .url | quote }}
{{- end }}
{{- if .sentinel.masterName }}
EASEL_REDIS_SENTINEL_MASTER: {{ .sentinel.masterName | quote }}
EASEL_REDIS_SENTINEL_ADDRS: {{ join "," .sentinel.addrs | quote }}
{{- with .sentinel.username }}
EASEL_REDIS_SENTINEL_USERNAME: {{ . | quote }}
{{- end }}
{{- end }}
{{- with .cluster.addrs }}
EASEL_REDIS_CLUSTER_ADDRS: {{ join "," . | quote }}
{{- end }}
{{- with .username }}
EASEL_REDIS_USERNAME: {{ . | quote }}
{{- end }}
{{- if .tls }}
EASEL_REDIS_TLS: "true"
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
easel.validate fails the render with a message naming the bad setting. The schema
catches bad types and enums; this catches combinations the schema cannot express clearly.
*/}}
{{- define "easel.validate" -}}
{{- $v := .Values }}
{{- $mode := $v.affinity.mode }}
{{- $provider := $v.affinity.provider }}
{{- if and (eq $mode "cookie") (eq $provider "service") }}
{{- fail "affinity.mode=cookie cannot be done by affinity.provider=service: a Service pins by client IP only. Use provider ingress-nginx, traefik or gateway, or mode clientIP." }}
{{- end }}
{{- if and (eq $mode "clientIP") (or (eq $provider "traefik") (eq $provider "gateway")) }}
{{- fail (printf "affinity.mode=clientIP is not supported by affinity.provider=%s (it offers cookie stickiness only). Use mode cookie, or provider service or ingress-nginx." $provider) }}
{{- end }}
{{- if and (ne $mode "none") (eq $provider "ingress-nginx") (not $v.ingress.enabled) }}
{{- fail "affinity.provider=ingress-nginx puts the affinity on the Ingress: set ingress.enabled=true." }}
{{- end }}
{{- if and (ne $mode "none") (eq $provider "gateway") (not $v.httpRoute.enabled) }}
{{- fail "affinity.provider=gateway puts the affinity on the HTTPRoute (sessionPersistence): set httpRoute.enabled=true." }}
{{- end }}
{{- if eq $v.session.store "redis" }}
{{- $ext := $v.externalRedis }}
{{- $kinds := 0 }}
{{- if $ext.url }}{{ $kinds = add1 $kinds }}{{ end }}
{{- if or $ext.sentinel.masterName $ext.sentinel.addrs }}{{ $kinds = add1 $kinds }}{{ end }}
{{- if $ext.cluster.addrs }}{{ $kinds = add1 $kinds }}{{ end }}
{{- if and (not $v.redis.enabled) (eq $kinds 0) }}
{{- fail "session.store=redis needs a Redis: set redis.enabled=true for the bundled one, or configure externalRedis (url, sentinel.masterName + sentinel.addrs, or cluster.addrs)." }}
{{- end }}
{{- if and $v.redis.enabled (gt $kinds 0) }}
{{- fail "set either redis.enabled=true or externalRedis, not both." }}
{{- end }}
{{- if gt $kinds 1 }}
{{- fail "externalRedis: set exactly one of url, sentinel (masterName + addrs) or cluster.addrs." }}
{{- end }}
{{- if and (or $ext.sentinel.masterName $ext.sentinel.addrs) (not (and $ext.sentinel.masterName $ext.sentinel.addrs)) }}
{{- fail "externalRedis.sentinel needs both masterName and addrs." }}
{{- end }}
{{- if and (or $ext.sentinel.username $ext.sentinel.password $ext.sentinel.existingSecret) (not $ext.sentinel.masterName) }}
{{- fail "externalRedis.sentinel.username/password/existingSecret are the sentinels' own credentials: set them only with externalRedis.sentinel.masterName and addrs." }}
{{- end }}
{{- if and $ext.url (not (or (hasPrefix "redis://" $ext.url) (hasPrefix "rediss://" $ext.url))) }}
{{- fail "externalRedis.url must start with redis:// or rediss://." }}
{{- end }}
{{- if and $ext.password $ext.existingSecret }}
{{- fail "externalRedis: set password or existingSecret, not both." }}
{{- end }}
{{- end }}
{{- if eq $v.blobs.store "s3" }}
{{- if ne $v.session.store "redis" }}
{{- fail "blobs.store=s3 needs session.store=redis: each blob's lifetime is a lease in Redis." }}
{{- end }}
{{- if not $v.blobs.s3.endpoint }}
{{- fail "blobs.store=s3 needs blobs.s3.endpoint, e.g. https://s3.eu-west-1.amazonaws.com." }}
{{- end }}
{{- if not $v.blobs.s3.bucket }}
{{- fail "blobs.store=s3 needs blobs.s3.bucket, an existing bucket." }}
{{- end }}
{{- end }}
{{- if and (eq $v.blobs.store "redis") (ne $v.session.store "redis") }}
{{- fail "blobs.store=redis needs session.store=redis." }}
{{- end }}
{{- range $i, $k := $v.session.keys }}
{{- if lt (len $k) 32 }}
{{- fail (printf "session.keys[%d] is %d characters long; every session key needs at least 32." $i (len $k)) }}
{{- end }}
{{- if contains "," $k }}
{{- fail (printf "session.keys[%d] contains a comma; keys are passed comma-separated." $i) }}
{{- end }}
{{- end }}
{{- if and $v.session.keys $v.session.existingSecret }}
{{- fail "set session.keys or session.existingSecret, not both." }}
{{- end }}
{{- $budget := add $v.shutdown.preStopSleepSeconds $v.shutdown.drainDelaySeconds $v.shutdown.timeoutSeconds }}
{{- if le (int $v.terminationGracePeriodSeconds) (int $budget) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be greater than shutdown.preStopSleepSeconds + drainDelaySeconds + timeoutSeconds (%d), or Kubernetes kills easel mid-shutdown." (int $v.terminationGracePeriodSeconds) (int $budget)) }}
{{- end }}
{{- if and $v.autoscaling.enabled (gt (int $v.autoscaling.minReplicas) (int $v.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas." }}
{{- end }}
{{- if eq $v.config.aiBackend "openai" }}
{{- if not $v.config.aiBaseUrl }}
{{- fail "config.aiBackend=openai needs config.aiBaseUrl, the API root, e.g. https://api.openai.com." }}
{{- end }}
{{- $keyFromEnv := false }}
{{- range $v.config.extraEnv }}{{ if eq .name "EASEL_AI_API_KEY" }}{{ $keyFromEnv = true }}{{ end }}{{ end }}
{{- if not (or $v.config.aiApiKey.existingSecret $keyFromEnv) }}
{{- fail "config.aiBackend=openai needs an API key: create a Secret holding it and set config.aiApiKey.existingSecret (and existingSecretKey)." }}
{{- end }}
{{- end }}
{{- if and (eq $v.config.aiBackend "http") (not $v.config.aiUrl) }}
{{- fail "config.aiBackend=http needs config.aiUrl: the URL easel POSTs each AI edit to, e.g. http://inpaint.default.svc:8080/edit." }}
{{- end }}
{{- end }}
