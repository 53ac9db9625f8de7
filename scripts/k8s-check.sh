#!/usr/bin/env bash
# CI for deploy/k8s without a cluster: scripts/k8s-check.mjs parses every manifest, validates it
# against the Kubernetes JSON schemas bundled in npm's kubernetes-models, and checks the
# cross-object rules (see the .mjs header). The checker is then run on broken copies and must
# reject each, so a check that silently passes nothing fails CI. Not checked: admission by a real
# API server (unknown fields, cluster policies), image pulls, kustomize's own build.
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/k8s-check.mjs deploy/k8s

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rejects=0
mutate() {  # name file (relative to deploy/k8s) sed-expression
  rm -rf "$tmp/deploy" && cp -r deploy "$tmp/deploy"
  sed -i -e "$3" "$tmp/deploy/k8s/$2"
  if cmp -s "deploy/k8s/$2" "$tmp/deploy/k8s/$2"; then echo "k8s-check: mutation $1 changed nothing" >&2; exit 1; fi
  if node scripts/k8s-check.mjs "$tmp/deploy/k8s" >"$tmp/out" 2>&1; then echo "k8s-check: the checker accepted a broken manifest ($1)" >&2; exit 1; fi
  echo "k8s-check: rejects $1: $(grep -m1 '^deploy/k8s: ' "$tmp/out" || head -n1 "$tmp/out")"
  rejects=$((rejects + 1))
}
mutate schema-type service.yaml 's/containerPort: 50051/containerPort: "fifty"/'
mutate no-readiness gateway.yaml 's/readinessProbe:/readinessProbX:/'
mutate selector service.yaml '0,/^        app.kubernetes.io\/name: monkey-coder-service$/s//        app.kubernetes.io\/name: other/'
mutate real-secret ../secret.example.yaml 's/JWT_SECRET_KEY: "REPLACE_ME"/JWT_SECRET_KEY: "hunter2"/'
mutate secret-in-kustomization configmap.yaml '$ a ---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: monkey-coder-secrets\nstringData:\n  JWT_SECRET_KEY: "REPLACE_ME"'
mutate latest-image service.yaml 's/monkey-coder-service:1.0.0/monkey-coder-service:latest/'
mutate unpinned-kustomize-image kustomization.yaml '0,/newTag: "1.0.0"/s//newTag: latest/'
mutate simulated-in-production configmap.yaml 's/^  DRAIN_SECONDS: "25"$/  DRAIN_SECONDS: "25"\n  SIMULATED_ENABLED: "true"/'
mutate memory-below-peak service.yaml 's/memory: 768Mi/memory: 512Mi/'
mutate spill-on-emptydir service.yaml '/- name: usage-spill$/,/claimName/ { s/persistentVolumeClaim:/emptyDir: {}/; /claimName/d }'
mutate spill-read-write-once usage-spill.yaml 's/ReadWriteMany/ReadWriteOnce/'
mutate hpa-on-cpu gateway.yaml '/- type: Pods/,/averageValue/c\    - type: Resource\n      resource:\n        name: cpu\n        target:\n          type: Utilization\n          averageUtilization: 70'
mutate metrics-open-to-all network-policy.yaml '/kubernetes.io\/metadata.name: monitoring/d; s/namespaceSelector:/namespaceSelector: {}/; /^            matchLabels:$/d'
mutate network-policy-elsewhere network-policy.yaml '0,/app.kubernetes.io\/name: monkey-coder-service/s//app.kubernetes.io\/name: nothing/'
mutate no-drain-bound configmap.yaml 's/^  DRAIN_SECONDS: "25"$/  DRAIN_SECONDS: "0"/'
mutate short-grace service.yaml 's/terminationGracePeriodSeconds: 35/terminationGracePeriodSeconds: 10/'
mutate unknown-setting configmap.yaml 's/DRAIN_SECONDS:/DRAIN_SECS:/'
mutate root-filesystem gateway.yaml 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/'
mutate no-migrate migrate-job.yaml 's/args: \["migrate"\]/args: ["serve"]/'
mutate yaml-syntax service.yaml 's/^spec:$/spec: [/'
mutate readiness-liveness service.yaml '/livenessProbe:/,/periodSeconds/ s/^              port: 50051$/              port: 50051\n              service: monkeycoder.v1.RouterService/'
mutate no-metrics-port service.yaml 's/containerPort: 9464/containerPort: 9465/'
mutate no-gateway-metrics-port gateway.yaml 's/containerPort: 9465/containerPort: 9466/'
echo "k8s-check: checker rejects $rejects broken variants"
