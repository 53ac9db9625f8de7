// Validates deploy/k8s (run by scripts/k8s-check.sh): every document parses, has apiVersion, kind
// and metadata.name, and passes the Kubernetes OpenAPI JSON schema bundled in the npm package
// kubernetes-models (types, required fields, enums, formats; unknown fields are NOT rejected by
// those schemas). Then cross-object rules a schema cannot express: selectors match pod labels,
// probes/resources/securityContext on every container, Service target ports exist, HPA/PDB point at
// real Deployments, envFrom names exist, config keys are known settings, secrets are placeholders,
// the grace period covers the drain period, the migration Job runs `migrate`, the Service's
// liveness/startup probes ask gRPC health "" (no dependency) and readiness asks RouterService.
// Production rules (issue 21): no Secret in the kustomization (the example Secret beside it is
// placeholders only), every image pinned (a tag other than latest, or a digest), memory limits at
// least the measured peak RSS of docs/performance.md plus the stated headroom, the usage spill on
// a PersistentVolumeClaim (not a pod-local emptyDir), autoscaling on the in-flight custom metric
// that the Prometheus adapter rules define, a NetworkPolicy that opens the Service's metrics port
// to the monitoring namespace only, a drain bound covered by the grace period, and no simulated
// provider switched on in the production ConfigMap.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const dir = process.argv[2] ?? path.join(root, 'deploy', 'k8s');
const errors = [];
const fail = (where, message) => errors.push(`${where}: ${message}`);

// Known settings: the environment variables of src/Core/Configuration/EnvironmentVariables.cs, plus
// .NET's own hierarchical keys (MonkeyCoder__…, Logging__…, DOTNET_…, ASPNETCORE_…).
const knownVariables = new Set([...readFileSync(path.join(root, 'src/Core/Configuration/EnvironmentVariables.cs'), 'utf8')
  .matchAll(/\("([A-Z0-9_]+)", "MonkeyCoder:/g)].map((m) => m[1]));
// OTEL_*: the OpenTelemetry SDK's standard variables (OTEL_EXPORTER_OTLP_ENDPOINT, …).
const isKnownSetting = (key) => knownVariables.has(key) || /^(MonkeyCoder|Logging)__\w+/.test(key) || /^(DOTNET|ASPNETCORE|OTEL)_\w+$/.test(key);

// Schema lookup: apiVersion "apps/v1" → models["apps"]? The package exports one module per group.
async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const module = group === '' ? await import(`kubernetes-models/${version}`) : await import(`kubernetes-models/${group}/${version}`).catch(() => null);
  return module?.[kind] ?? null;
}

const objects = [];
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
for (const file of files) {
  const text = readFileSync(path.join(dir, file), 'utf8');
  for (const [index, doc] of parseAllDocuments(text).entries()) {
    const where = `${file}#${index}`;
    if (doc.errors.length) { fail(where, doc.errors.map((e) => e.message).join('; ')); continue; }
    const obj = doc.toJS();
    if (obj === null) continue;
    if (!obj.apiVersion || !obj.kind || !obj.metadata?.name && obj.kind !== 'Kustomization') { fail(where, 'needs apiVersion, kind and metadata.name'); continue; }
    objects.push({ where, obj, file });
  }
}

const named = (kind) => objects.filter((o) => o.obj.kind === kind);
const find = (kind, name) => named(kind).find((o) => o.obj.metadata.name === name)?.obj;
const matches = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v) && Object.keys(selector ?? {}).length > 0;

// Kustomization lists exactly the manifests.
const kustomization = named('Kustomization')[0]?.obj;
if (!kustomization) fail('kustomization.yaml', 'missing');
else {
  const listed = new Set(kustomization.resources ?? []);
  for (const f of files.filter((f) => f !== 'kustomization.yaml')) if (!listed.has(f)) fail('kustomization.yaml', `does not list ${f}`);
  for (const f of listed) if (!files.includes(f)) fail('kustomization.yaml', `lists missing ${f}`);
}

for (const { where, obj } of objects) {
  if (obj.kind === 'Kustomization') continue;
  const Model = await modelFor(obj.apiVersion, obj.kind);
  if (!Model) { fail(where, `no schema for ${obj.apiVersion} ${obj.kind}`); continue; }
  try { new Model(obj).validate(); } catch (e) { fail(where, `schema: ${e.message}`); }
}

const config = find('ConfigMap', 'monkey-coder-config');
// The Secret is created out of band; deploy/secret.example.yaml (beside deploy/k8s) lists its keys.
if (kustomization?.secretGenerator) fail('kustomization.yaml', 'secretGenerator would overwrite the real Secret on every apply');
for (const { where } of named('Secret')) fail(where, 'a Secret in the kustomization would overwrite the real one on every apply: keep it out (deploy/secret.example.yaml)');
const examplePath = path.join(dir, '..', 'secret.example.yaml');
let secret = null;
try {
  secret = parseAllDocuments(readFileSync(examplePath, 'utf8')).map((d) => d.toJS()).find((o) => o?.kind === 'Secret') ?? null;
} catch { fail('secret.example.yaml', `missing beside ${dir}`); }
for (const [kind, o, values] of [['ConfigMap', config, config?.data], ['Secret', secret, secret?.stringData]]) {
  if (!o) { fail(kind, 'monkey-coder-* is missing'); continue; }
  for (const key of Object.keys(values ?? {})) if (!isKnownSetting(key)) fail(kind, `${key} is not a known setting (docs/configuration.md)`);
}
if (secret?.data) fail('Secret', 'use stringData placeholders, not base64 data');
for (const [key, value] of Object.entries(secret?.stringData ?? {})) {
  if (value !== '' && !String(value).includes('REPLACE_ME')) fail('Secret', `${key} holds a value that is not a REPLACE_ME placeholder`);
}
const drainSeconds = Number(config?.data?.DRAIN_SECONDS ?? 30);

const podChecks = (where, podSpec, { job = false } = {}) => {
  const sc = podSpec.securityContext ?? {};
  if (sc.runAsNonRoot !== true || !(sc.runAsUser > 0)) fail(where, 'pod securityContext needs runAsNonRoot: true and a non-zero runAsUser');
  for (const c of podSpec.containers ?? []) {
    const cw = `${where} container ${c.name}`;
    const csc = c.securityContext ?? {};
    if (csc.readOnlyRootFilesystem !== true) fail(cw, 'readOnlyRootFilesystem must be true');
    if (csc.allowPrivilegeEscalation !== false) fail(cw, 'allowPrivilegeEscalation must be false');
    if (!(csc.capabilities?.drop ?? []).includes('ALL')) fail(cw, 'capabilities.drop must include ALL');
    for (const r of ['requests', 'limits']) for (const k of ['cpu', 'memory']) if (!c.resources?.[r]?.[k]) fail(cw, `resources.${r}.${k} missing`);
    if (!(c.volumeMounts ?? []).some((m) => m.mountPath === '/tmp')) fail(cw, 'needs a writable /tmp (emptyDir) with a read-only root');
    for (const ref of c.envFrom ?? []) {
      if (ref.configMapRef && !find('ConfigMap', ref.configMapRef.name)) fail(cw, `envFrom ConfigMap ${ref.configMapRef.name} does not exist`);
      if (ref.secretRef && ref.secretRef.name !== secret?.metadata?.name) fail(cw, `envFrom Secret ${ref.secretRef.name} is not the documented Secret (secret.example.yaml)`);
    }
    for (const e of c.env ?? []) if (!isKnownSetting(e.name)) fail(cw, `env ${e.name} is not a known setting`);
    if (job) continue;
    const ports = (c.ports ?? []).map((p) => p.containerPort);
    const portNames = (c.ports ?? []).map((p) => p.name);
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      const p = c[probe];
      if (!p) { fail(cw, `${probe} missing`); continue; }
      const port = p.grpc?.port ?? p.httpGet?.port ?? p.tcpSocket?.port;
      if (!(ports.includes(port) || portNames.includes(port))) fail(cw, `${probe} port ${port} is not a container port`);
    }
    const envPort = (c.env ?? []).find((e) => e.name === 'PORT')?.value;
    if (envPort && !ports.includes(Number(envPort))) fail(cw, `PORT=${envPort} is not the container port ${ports}`);
    const preStop = c.lifecycle?.preStop?.sleep?.seconds ?? 0;
    if ((podSpec.terminationGracePeriodSeconds ?? 30) < drainSeconds + preStop) {
      fail(where, `terminationGracePeriodSeconds ${podSpec.terminationGracePeriodSeconds} < preStop ${preStop} s + DRAIN_SECONDS ${drainSeconds}: streams would be killed mid-drain`);
    }
  }
};

for (const { where, obj } of named('Deployment')) {
  const labels = obj.spec?.template?.metadata?.labels;
  if (!matches(obj.spec?.selector?.matchLabels, labels)) fail(where, 'spec.selector.matchLabels does not match the pod template labels');
  podChecks(where, obj.spec.template.spec);
  const name = obj.metadata.name;
  const hpa = named('HorizontalPodAutoscaler').find((o) => o.obj.spec?.scaleTargetRef?.name === name && o.obj.spec.scaleTargetRef.kind === 'Deployment');
  if (!hpa) fail(where, 'no HorizontalPodAutoscaler targets it');
  else if (hpa.obj.spec.minReplicas < 2) fail(hpa.where, 'minReplicas < 2 leaves no replica during a disruption');
  if (!named('PodDisruptionBudget').some((o) => matches(o.obj.spec?.selector?.matchLabels, labels))) fail(where, 'no PodDisruptionBudget selects its pods');
  if (!named('Service').some((o) => matches(o.obj.spec?.selector, labels))) fail(where, 'no Service selects its pods');
}
for (const { where, obj } of named('Service')) {
  const deployment = named('Deployment').find((d) => matches(obj.spec?.selector, d.obj.spec.template.metadata.labels));
  if (!deployment) { fail(where, 'selector matches no Deployment pods'); continue; }
  const containerPorts = deployment.obj.spec.template.spec.containers.flatMap((c) => c.ports ?? []);
  for (const p of obj.spec.ports ?? []) {
    if (!containerPorts.some((cp) => cp.name === p.targetPort || cp.containerPort === p.targetPort)) fail(where, `targetPort ${p.targetPort} is not a container port of ${deployment.obj.metadata.name}`);
  }
}
for (const { where, obj } of named('HorizontalPodAutoscaler')) {
  if (!find('Deployment', obj.spec?.scaleTargetRef?.name)) fail(where, `scaleTargetRef ${obj.spec?.scaleTargetRef?.name} does not exist`);
}
for (const { where, obj } of named('PodDisruptionBudget')) {
  if (!named('Deployment').some((d) => matches(obj.spec?.selector?.matchLabels, d.obj.spec.template.metadata.labels))) fail(where, 'selector matches no Deployment pods');
}
const jobs = named('Job');
if (!jobs.some((j) => j.obj.spec.template.spec.containers.some((c) => (c.args ?? []).includes('migrate')))) fail('Job', 'no migration Job runs `migrate`');
for (const { where, obj } of jobs) {
  podChecks(where, obj.spec.template.spec, { job: true });
  if (!['Never', 'OnFailure'].includes(obj.spec.template.spec.restartPolicy)) fail(where, 'restartPolicy must be Never or OnFailure');
}

// Both hosts' probes: the Service by gRPC health, the gateway by /healthz and /readyz.
const service = find('Deployment', 'monkey-coder-service')?.spec.template.spec.containers[0];
const gateway = find('Deployment', 'monkey-coder-gateway')?.spec.template.spec.containers[0];
if (!service?.livenessProbe?.grpc || !service?.readinessProbe?.grpc) fail('monkey-coder-service', 'liveness and readiness must be gRPC probes');
// gRPC health "" is liveness (checks no dependency); monkeycoder.v1.RouterService is readiness
// (PostgreSQL, Redis, providers). Liveness or startup on a readiness name restarts every pod
// during a dependency outage.
for (const probe of ['livenessProbe', 'startupProbe']) {
  if ((service?.[probe]?.grpc?.service ?? '') !== '') fail('monkey-coder-service', `${probe} must ask gRPC health "" (liveness), not ${service[probe].grpc.service}`);
}
if (service?.readinessProbe?.grpc?.service !== 'monkeycoder.v1.RouterService') fail('monkey-coder-service', 'readinessProbe must ask monkeycoder.v1.RouterService');
if (!(service?.ports ?? []).some((p) => p.containerPort === 9464)) fail('monkey-coder-service', 'containerPort 9464 (METRICS_PORT: /metrics, /healthz, /readyz) not declared');
if (!(gateway?.ports ?? []).some((p) => p.containerPort === 9465)) fail('monkey-coder-gateway', 'containerPort 9465 (METRICS_PORT: /metrics, not served on the public port) not declared');
if (gateway?.livenessProbe?.httpGet?.path !== '/healthz' || gateway?.readinessProbe?.httpGet?.path !== '/readyz') fail('monkey-coder-gateway', 'liveness /healthz and readiness /readyz');

// --- Production rules -------------------------------------------------------------------------
const checked = [];
const rule = (name) => checked.push(name);

// The simulated provider answers with made-up text: never switched on by the production ConfigMap.
rule('simulated provider off in production');
if (config?.data?.ENVIRONMENT === 'production' && String(config?.data?.SIMULATED_ENABLED ?? '').toLowerCase() === 'true') {
  fail('ConfigMap', 'SIMULATED_ENABLED "true" with ENVIRONMENT production: real users would get simulated answers');
}

// Pinned images: a tag other than latest, or a digest; the kustomization's images too.
rule('images pinned');
const pinned = (image) => /@sha256:[0-9a-f]{64}$/.test(image) || (/:[^:/@]+$/.test(image) && !/:latest$/.test(image));
for (const { where, obj } of [...named('Deployment'), ...named('Job')]) {
  for (const c of obj.spec.template.spec.containers ?? []) if (!pinned(c.image ?? '')) fail(where, `image ${c.image} is not pinned (a tag other than latest, or @sha256 digest)`);
}
for (const i of kustomization?.images ?? []) {
  if (!i.digest && (!i.newTag || i.newTag === 'latest')) fail('kustomization.yaml', `images ${i.name}: pin newTag (not latest) or a digest`);
}

// Sizing: memory limit >= measured peak RSS x (1 + headroom), from docs/performance.md's marker.
rule('memory sized from docs/performance.md');
const mib = (q) => {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi)?$/.exec(String(q ?? ''));
  if (!m) return NaN;
  return Number(m[1]) * ({ Ki: 1 / 1024, Mi: 1, Gi: 1024 }[m[2]] ?? 1 / (1024 * 1024));
};
const perf = readFileSync(path.join(root, 'docs', 'performance.md'), 'utf8');
const sizing = /<!-- k8s-sizing: service-peak-rss-mib=(\d+) gateway-peak-rss-mib=(\d+) headroom=(\d+(?:\.\d+)?) -->/.exec(perf);
if (!sizing) fail('docs/performance.md', 'the k8s-sizing marker (measured peak RSS and headroom) is missing');
else {
  const headroom = Number(sizing[3]);
  for (const [name, peak] of [['monkey-coder-service', Number(sizing[1])], ['monkey-coder-gateway', Number(sizing[2])]]) {
    const c = find('Deployment', name)?.spec.template.spec.containers[0];
    const limit = mib(c?.resources?.limits?.memory);
    const request = mib(c?.resources?.requests?.memory);
    if (!(limit >= peak * (1 + headroom))) fail(name, `memory limit ${c?.resources?.limits?.memory} < measured peak ${peak} MiB + ${headroom * 100}% headroom (docs/performance.md)`);
    if (!(request <= limit)) fail(name, 'memory request above its limit');
  }
}

// Usage spill on a volume that outlives the pod: USAGE_SPILL_PATH mounted from a PVC that exists.
rule('usage spill on a PersistentVolumeClaim');
const spillPath = config?.data?.USAGE_SPILL_PATH;
if (!spillPath) fail('ConfigMap', 'USAGE_SPILL_PATH is not set: the spill would go to /tmp (emptyDir), lost with the pod');
for (const { where, obj } of named('Deployment')) {
  const pod = obj.spec.template.spec;
  for (const c of pod.containers ?? []) {
    const mount = (c.volumeMounts ?? []).find((m) => spillPath && (spillPath === m.mountPath || spillPath.startsWith(m.mountPath + '/')));
    const volume = (pod.volumes ?? []).find((v) => v.name === mount?.name);
    if (!volume?.persistentVolumeClaim) { fail(where, `USAGE_SPILL_PATH ${spillPath} is not on a persistentVolumeClaim volume (an emptyDir dies with the pod)`); continue; }
    const claim = find('PersistentVolumeClaim', volume.persistentVolumeClaim.claimName);
    if (!claim) fail(where, `PersistentVolumeClaim ${volume.persistentVolumeClaim.claimName} does not exist`);
    else if (!(claim.spec?.accessModes ?? []).includes('ReadWriteMany')) fail(where, `PersistentVolumeClaim ${claim.metadata.name} must be ReadWriteMany (every replica mounts it)`);
  }
}

// Autoscaling on in-flight calls / open streams through the Prometheus adapter.
rule('autoscaling on the in-flight custom metric');
let adapterNames = [];
try {
  const rules = parseAllDocuments(readFileSync(path.join(dir, '..', 'prometheus-adapter', 'rules.yaml'), 'utf8'))[0].toJS();
  adapterNames = (rules?.rules?.custom ?? []).map((r) => r.name?.as).filter(Boolean);
} catch { fail('prometheus-adapter/rules.yaml', 'missing or unreadable'); }
for (const { where, obj } of named('HorizontalPodAutoscaler')) {
  const custom = (obj.spec.metrics ?? []).filter((m) => m.type === 'Pods' || m.type === 'Object' || m.type === 'External');
  if (custom.length === 0) fail(where, 'scales on CPU/memory only: scale on in-flight calls (custom metric)');
  for (const m of custom) {
    const name = m.pods?.metric?.name ?? m.object?.metric?.name ?? m.external?.metric?.name;
    if (!adapterNames.includes(name)) fail(where, `custom metric ${name} is not defined by prometheus-adapter/rules.yaml`);
  }
}

// NetworkPolicy: the Service's metrics port from the monitoring namespace only.
rule('metrics port reachable from the monitoring namespace only');
const metricsPort = 9464;
const servicePods = find('Deployment', 'monkey-coder-service')?.spec.template.metadata.labels;
const policies = named('NetworkPolicy').filter((o) => matches(o.obj.spec?.podSelector?.matchLabels, servicePods));
if (policies.length === 0) fail('NetworkPolicy', 'none selects the Service pods');
let metricsAllowed = false;
for (const { where, obj } of policies) {
  if (!(obj.spec.policyTypes ?? ['Ingress']).includes('Ingress')) fail(where, 'must restrict Ingress');
  for (const r of obj.spec.ingress ?? []) {
    const ports = r.ports ?? [];
    const opensMetrics = ports.length === 0 || ports.some((p) => p.port === metricsPort || p.port === 'metrics');
    if (!opensMetrics) continue;
    const onlyMonitoring = (r.from ?? []).length > 0 && r.from.every((f) => f.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'monitoring' && !f.ipBlock);
    if (!onlyMonitoring) fail(where, `an ingress rule opens port ${metricsPort} (metrics) beyond the monitoring namespace`);
    else metricsAllowed = true;
  }
}
if (policies.length && !metricsAllowed) fail('NetworkPolicy', `port ${metricsPort} is not opened to the monitoring namespace (Prometheus cannot scrape)`);

// Drain bound: DRAIN_SECONDS set, and the grace period covers preStop + the bound (podChecks above).
rule('drain bound covered by the grace period');
if (!(Number(config?.data?.DRAIN_SECONDS) >= 1)) fail('ConfigMap', 'DRAIN_SECONDS (the documented bound for in-flight streams) is not set');

if (errors.length) {
  for (const e of errors) console.error(`deploy/k8s: ${e}`);
  process.exit(1);
}
console.log(`deploy/k8s: ${objects.length} objects in ${files.length} files: schema and structure ok`);
for (const name of checked) console.log(`deploy/k8s: ok: ${name}`);
