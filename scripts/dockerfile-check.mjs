// Structural checks of Dockerfile.aot that a generic linter cannot know (run by dockerfile-check.sh):
// stages and targets exist, runtime stages are chiseled, non-root, shell-free, with an exec-form
// HEALTHCHECK that names the published binary; the restore layer copies every project file the
// hosts reference before `dotnet restore`; COPY sources exist and are not excluded by .dockerignore.
// Prints the build stages' `dotnet restore|publish` commands, one per line, for the shell script
// to run exactly as written.
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const file = process.argv[2] ?? path.join(root, 'Dockerfile.aot');
const text = readFileSync(file, 'utf8');
const dockerfile = DockerfileParser.parse(text);
const errors = [];
const fail = (message) => errors.push(message);

// Group instructions by stage.
const args = {};
const stages = [];
for (const instruction of dockerfile.getInstructions()) {
  const keyword = instruction.getKeyword();
  const content = (instruction.getArgumentsContent() ?? '').replace(/\\\r?\n/g, ' ').replace(/\s+/g, ' ').trim();
  if (keyword === 'FROM') {
    const parts = content.split(' ');
    const asIndex = parts.findIndex((p) => p.toUpperCase() === 'AS');
    stages.push({ name: asIndex > 0 ? parts[asIndex + 1] : null, image: parts[0], line: instruction.getRange().start.line + 1, instructions: [] });
  } else if (stages.length === 0) {
    if (keyword === 'ARG') {
      const [name, value] = content.split('=');
      args[name] = value;
    }
  } else {
    const flags = (instruction.getFlags?.() ?? []).map((f) => `--${f.getName()}=${f.getValue()}`);
    stages.at(-1).instructions.push({ keyword, content: [...flags, content].join(' '), line: instruction.getRange().start.line + 1 });
  }
}
const stage = (name) => stages.find((s) => s.name === name);
const expand = (s) => s.replace(/\$\{?(\w+)\}?/g, (m, name) => args[name] ?? m).replace(/"/g, '');

for (const name of ['build', 'publish-service', 'publish-gateway', 'service', 'gateway', 'final']) {
  if (!stage(name)) fail(`stage '${name}' is missing`);
}
if (stages.at(-1)?.name !== 'final' || expand(stages.at(-1).image) !== 'service') {
  fail("the last stage must be 'final', FROM ${MONKEY_TARGET} defaulting to 'service'");
}

// Project facts the image must agree with.
const csproj = (p) => readFileSync(path.join(root, p), 'utf8');
const assemblyName = (p) => /<AssemblyName>([^<]+)<\/AssemblyName>/.exec(csproj(p))?.[1];
const closure = (p, seen = new Set()) => {
  if (seen.has(p)) return seen;
  seen.add(p);
  for (const m of csproj(p).matchAll(/<ProjectReference Include="([^"]+)"/g)) {
    closure(path.relative(root, path.resolve(path.dirname(path.join(root, p)), m[1])), seen);
  }
  return seen;
};
const hosts = { service: 'src/Service/Service.csproj', gateway: 'src/Gateway.Json/Gateway.Json.csproj' };

// Runtime stages.
for (const [name, project] of Object.entries(hosts)) {
  const s = stage(name);
  if (!s) continue;
  const image = expand(s.image);
  if (!/^mcr\.microsoft\.com\/dotnet\/(runtime-deps|aspnet):[\d.]+-[a-z]+-chiseled$/.test(image)) fail(`${name}: base image ${image} is not a pinned chiseled .NET image`);
  const runs = s.instructions.filter((i) => i.keyword === 'RUN');
  if (runs.length) fail(`${name}: RUN at line ${runs[0].line}, but a chiseled image has no shell`);
  const users = s.instructions.filter((i) => i.keyword === 'USER');
  const user = users.at(-1)?.content;
  if (!user || !/^[1-9]\d*(:\d+)?$/.test(user)) fail(`${name}: USER must be a numeric non-root uid (Kubernetes runAsNonRoot), got '${user}'`);
  const checks = s.instructions.filter((i) => i.keyword === 'HEALTHCHECK');
  if (checks.length !== 1) fail(`${name}: needs exactly one HEALTHCHECK, has ${checks.length}`);
  const binary = name === 'service' ? `/app/${assemblyName(project)}` : `/app/${assemblyName(project)}.dll`;
  for (const keyword of ['HEALTHCHECK', 'ENTRYPOINT']) {
    const i = s.instructions.find((x) => x.keyword === keyword);
    if (!i) { fail(`${name}: no ${keyword}`); continue; }
    const json = i.content.slice(i.content.indexOf('['));
    let argv;
    try { argv = JSON.parse(json); } catch { fail(`${name}: ${keyword} must use the exec (JSON) form: no shell in the image`); continue; }
    if (!argv.includes(binary)) fail(`${name}: ${keyword} does not run ${binary}`);
    if (keyword === 'HEALTHCHECK' && !argv.includes('healthcheck')) fail(`${name}: HEALTHCHECK does not call the 'healthcheck' command`);
  }
  const copy = s.instructions.find((i) => i.keyword === 'COPY');
  if (!copy || !copy.content.startsWith(`--from=publish-${name} `)) fail(`${name}: must COPY only from publish-${name}`);
}

// Build stage: restore layer and COPY sources.
const build = stage('build');
const ignore = readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
if (build) {
  const firstRestore = build.instructions.findIndex((i) => i.keyword === 'RUN' && i.content.includes('dotnet restore'));
  if (firstRestore < 0) fail('build: no dotnet restore');
  const copiedBefore = new Set();
  build.instructions.forEach((i, index) => {
    if (i.keyword !== 'COPY') return;
    const parts = i.content.split(' ').filter((p) => !p.startsWith('--'));
    for (const source of parts.slice(0, -1)) {
      if (!existsSync(path.join(root, source))) fail(`build: COPY source ${source} (line ${i.line}) does not exist`);
      const hit = ignore.find((pattern) => pattern.replace(/\/$/, '') === source.replace(/\/$/, '') || (pattern === '*.md' && source.endsWith('.md')));
      if (hit) fail(`build: COPY ${source} (line ${i.line}) is excluded by .dockerignore '${hit}'`);
      if (index < firstRestore) copiedBefore.add(source.replace(/\/$/, ''));
    }
    if (index < firstRestore && parts.some((p) => p === 'src/' || p === '.')) fail(`build: line ${i.line} copies sources before restore (breaks layer caching)`);
  });
  const needed = new Set(['global.json', 'Directory.Build.props', 'Directory.Packages.props']);
  for (const project of Object.values(hosts)) for (const p of closure(project)) needed.add(p);
  for (const p of needed) if (!copiedBefore.has(p)) fail(`build: ${p} is not copied before dotnet restore`);
}

// The commands CI runs, as written in the file: every RUN of the build stages that calls dotnet
// (whole, including its clean-up), with build arguments at their defaults.
const commands = [];
for (const name of ['build', 'publish-service', 'publish-gateway']) {
  for (const i of stage(name)?.instructions ?? []) {
    if (i.keyword === 'RUN' && /(^|&& )dotnet /.test(i.content)) commands.push(expand(i.content));
  }
}
if (!commands.some((c) => c.includes('dotnet publish src/Service/'))) fail('no dotnet publish of the Service');
if (!commands.some((c) => c.includes('dotnet publish src/Gateway.Json/'))) fail('no dotnet publish of the Gateway');

// Railway (railway.json = the public REST host; deploy/railway/service.railway.json = the gRPC
// Service): build with this file, start the binary the matching stage ships, probe a real path.
const drainSeconds = 30;
for (const [config, target] of [['railway.json', 'gateway'], ['deploy/railway/service.railway.json', 'service']]) {
  let railway;
  try { railway = JSON.parse(readFileSync(path.join(root, config), 'utf8')); } catch (e) { fail(`${config}: ${e.message}`); continue; }
  if (railway.build?.builder !== 'DOCKERFILE' || railway.build?.dockerfilePath !== 'Dockerfile.aot') fail(`${config}: must build with DOCKERFILE Dockerfile.aot`);
  const entry = stage(target)?.instructions.find((i) => i.keyword === 'ENTRYPOINT');
  const argv = entry ? JSON.parse(entry.content.slice(entry.content.indexOf('['))) : [];
  if (railway.deploy?.startCommand !== argv.join(' ')) fail(`${config}: startCommand '${railway.deploy?.startCommand}' is not the ${target} ENTRYPOINT '${argv.join(' ')}'`);
  if (target === 'gateway' && railway.deploy?.healthcheckPath !== '/readyz') fail(`${config}: healthcheckPath must be /readyz`);
  if (!(railway.deploy?.drainingSeconds >= drainSeconds)) fail(`${config}: drainingSeconds must cover DRAIN_SECONDS (default ${drainSeconds})`);
}

if (errors.length) {
  for (const e of errors) console.error(`Dockerfile.aot: ${e}`);
  process.exit(1);
}
console.log(commands.join('\n'));
