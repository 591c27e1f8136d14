{{/*
Helpers of the odatis-vre chart. vre.yaml is parsed once per template with "odatis-vre.vre";
quantities of vre.yaml ("4G" = 4 GiB, powers of 1024 as in odatis_vre.config.parse_quantity)
become Kubernetes quantities ("4Gi") with "odatis-vre.quantity".
*/}}

{{- define "odatis-vre.labels" -}}
app.kubernetes.io/part-of: odatis-vre
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The parsed vre.yaml (a dict); fails with a message when it is missing or not a mapping. */}}
{{- define "odatis-vre.vre" -}}
{{- $text := required "vreConfig is empty: give the chart your vre.yaml with `--set-file vreConfig=vre.yaml` (see helm/odatis-vre/examples/vre.yaml and docs/deploy-kubernetes.md)" .Values.vreConfig -}}
{{- $vre := fromYaml $text -}}
{{- if hasKey $vre "Error" -}}
{{- fail (printf "vreConfig is not valid YAML: %s. Check the file with `odatis-vre config check vre.yaml`." (get $vre "Error")) -}}
{{- end -}}
{{- toJson $vre -}}
{{- end -}}

{{/* "4G" -> "4Gi", "512M" -> "512Mi", 1073741824 -> "1073741824", "1.5G" -> "1.5Gi" */}}
{{- define "odatis-vre.quantity" -}}
{{- $v := . -}}
{{- if or (kindIs "float64" $v) (kindIs "int64" $v) (kindIs "int" $v) -}}
{{- printf "%.0f" (float64 $v) -}}
{{- else if regexMatch "^[0-9]+(\\.[0-9]+)?[KMGT]$" (toString $v) -}}
{{- printf "%si" (toString $v) -}}
{{- else -}}
{{- toString $v -}}
{{- end -}}
{{- end -}}

{{/* A vre.yaml quantity in bytes, as a decimal string (for comparisons). */}}
{{- define "odatis-vre.bytes" -}}
{{- $v := . -}}
{{- if or (kindIs "float64" $v) (kindIs "int64" $v) (kindIs "int" $v) -}}
{{- printf "%.0f" (float64 $v) -}}
{{- else -}}
{{- $s := toString $v -}}
{{- $num := regexFind "^[0-9]+(\\.[0-9]+)?" $s -}}
{{- $unit := trimPrefix $num $s -}}
{{- $mult := dict "" 1.0 "K" 1024.0 "M" 1048576.0 "G" 1073741824.0 "T" 1099511627776.0 -}}
{{- if not (hasKey $mult $unit) -}}
{{- fail (printf "vreConfig: %q is not a memory size (a number of bytes or a number followed by K, M, G or T)" $s) -}}
{{- end -}}
{{- printf "%.0f" (mulf (float64 $num) (get $mult $unit)) -}}
{{- end -}}
{{- end -}}

{{/* The Secret holding the VRE's secrets (created by the chart or by the operator). */}}
{{- define "odatis-vre.secretName" -}}
{{- default .Values.secrets.name .Values.secrets.existingSecret -}}
{{- end -}}

{{/* The default profile (the one marked default, else the first): its image runs the services and Dask. */}}
{{- define "odatis-vre.defaultImage" -}}
{{- $vre := include "odatis-vre.vre" . | fromJson -}}
{{- $image := "" -}}
{{- range $vre.profiles -}}
{{- if and (not $image) .default (not .retired) -}}{{- $image = .image -}}{{- end -}}
{{- end -}}
{{- if and (not $image) $vre.profiles -}}{{- $image = (first $vre.profiles).image -}}{{- end -}}
{{- $image -}}
{{- end -}}

{{/* Environment of a service pod so that jupyterhub.services.auth.HubOAuth finds the hub. */}}
{{- define "odatis-vre.serviceEnv" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $vre := include "odatis-vre.vre" $root | fromJson -}}
{{- $base := trimSuffix "/" (default "/" (($vre.hub | default dict).base_url)) -}}
- name: ODATIS_VRE_CONFIG
  value: /etc/odatis-vre/vre.yaml
- name: JUPYTERHUB_SERVICE_NAME
  value: {{ $name }}
- name: JUPYTERHUB_API_URL
  value: {{ printf "http://hub:8081%s/hub/api" $base | quote }}
- name: JUPYTERHUB_BASE_URL
  value: {{ printf "%s/" $base | quote }}
- name: JUPYTERHUB_SERVICE_PREFIX
  value: {{ printf "%s/services/%s/" $base $name | quote }}
- name: JUPYTERHUB_SERVICE_URL
  value: "http://0.0.0.0:8000"
- name: JUPYTERHUB_CLIENT_ID
  value: {{ printf "service-%s" $name | quote }}
- name: JUPYTERHUB_OAUTH_CALLBACK_URL
  value: {{ printf "%s/services/%s/oauth_callback" $base $name | quote }}
- name: JUPYTERHUB_API_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "odatis-vre.secretName" $root }}
      key: {{ printf "%s-api-token" $name }}
{{- end -}}

{{/* Egress rules shared by our policies: DNS (cluster DNS and node-local caches) and public addresses. */}}
{{- define "odatis-vre.egressDNSAndInternet" -}}
{{- $np := .Values.networkPolicy -}}
- to:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: {{ $np.dnsNamespace }}
    {{- range $np.deniedCIDRs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  ports:
    - {port: 53, protocol: UDP}
    - {port: 53, protocol: TCP}
- to:
    - ipBlock:
        cidr: 0.0.0.0/0
        except:
          {{- toYaml $np.deniedCIDRs | nindent 10 }}
{{- end -}}
