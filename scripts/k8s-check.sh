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
mutate() {  # name file sed-expression
  rm -rf "$tmp/k8s" && cp -r deploy/k8s "$tmp/k8s"
  sed -i -e "$3" "$tmp/k8s/$2"
  if cmp -s "deploy/k8s/$2" "$tmp/k8s/$2"; then echo "k8s-check: mutation $1 changed nothing" >&2; exit 1; fi
  if node scripts/k8s-check.mjs "$tmp/k8s" >/dev/null 2>&1; then echo "k8s-check: the checker accepted a broken manifest ($1)" >&2; exit 1; fi
  rejects=$((rejects + 1))
}
mutate schema-type service.yaml 's/containerPort: 50051/containerPort: "fifty"/'
mutate no-readiness gateway.yaml 's/readinessProbe:/readinessProbX:/'
mutate selector service.yaml '0,/^        app.kubernetes.io\/name: monkey-coder-service$/s//        app.kubernetes.io\/name: other/'
mutate real-secret secret.yaml 's/JWT_SECRET_KEY: "REPLACE_ME"/JWT_SECRET_KEY: "hunter2"/'
mutate short-grace service.yaml 's/terminationGracePeriodSeconds: 35/terminationGracePeriodSeconds: 10/'
mutate unknown-setting configmap.yaml 's/DRAIN_SECONDS:/DRAIN_SECS:/'
mutate root-filesystem gateway.yaml 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/'
mutate no-migrate migrate-job.yaml 's/args: \["migrate"\]/args: ["serve"]/'
mutate yaml-syntax service.yaml 's/^spec:$/spec: [/'
mutate readiness-liveness service.yaml '/livenessProbe:/,/periodSeconds/ s/^              port: 50051$/              port: 50051\n              service: monkeycoder.v1.RouterService/'
mutate no-metrics-port service.yaml 's/containerPort: 9464/containerPort: 9465/'
mutate no-gateway-metrics-port gateway.yaml 's/containerPort: 9465/containerPort: 9466/'
echo "k8s-check: checker rejects $rejects broken variants"
