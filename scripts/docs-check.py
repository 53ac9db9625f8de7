#!/usr/bin/env python3
"""Keeps docs/ from rotting (run by scripts/docs-check.sh, which CI runs from scripts/test.sh).

1. Samples: every fenced block whose info string is "<lang> test" runs against a freshly started
   Service and Gateway on embedded defaults:
     bash test    bash -euo pipefail, cwd = repo root, DATABASE_URL = the test PostgreSQL
     python test  Debian's /usr/bin/python3 (python3-grpcio) with stubs generated from protos/
     js test      node with the repo's @grpc/grpc-js and @grpc/proto-loader
     csharp test file=PATH   the block must equal PATH; the sample project is built and run
   `<!-- expect: REGEX -->` on the line after the closing fence must match the sample's output.
   Samples say localhost:8080 (REST) and localhost:50051 (gRPC) as a reader runs them; the runner
   starts the hosts on free ports and rewrites exactly those two addresses.
2. Every other bash/sh block must be followed by `<!-- checked-by: PATH -->` naming the existing
   script or test that exercises it (e.g. docker build → scripts/dockerfile-check.sh).
3. Reference completeness: every environment variable in EnvironmentVariables.cs and every options
   setting (Section:Property) appears in docs/configuration.md; every RPC and HTTP path in protos/
   appears in docs/api.md; relative links resolve (docs listed as planned in docs/README.md excepted).
"""
import json, os, re, shutil, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
WORK = ROOT / "artifacts" / "docs-check"
errors = []
ran = {}


def fail(msg):
    errors.append(msg)
    print(f"  FAIL {msg}", flush=True)


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close(); return port


FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*\n(?:<!--\s*(expect|checked-by):\s*(.*?)\s*-->)?", re.S | re.M)


def blocks(md: Path):
    text = md.read_text()
    for m in FENCE.finditer(text):
        info = m.group(1).strip().split()
        line = text[: m.start()].count("\n") + 1
        yield {"file": md, "line": line, "lang": info[0] if info else "", "flags": info[1:],
               "body": m.group(2), "marker": m.group(3), "marker_value": m.group(4)}


DOCS_KEY = "mk_docscheck0_0123456789abcdefghijklmnopqrstuvwxyzABCD"


def start_hosts():
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY",
                                                               "GOOGLE_API_KEY", "GROQ_API_KEY", "XAI_API_KEY", "SENTRY_DSN")}
    # The hosts' bootstrap admin key; samples read it as MONKEY_CODER_API_KEY, as a user would.
    env.update(BIND_ADDRESS="127.0.0.1", ENVIRONMENT="test", MONKEY_CODER_ADMIN_API_KEY=DOCS_KEY)
    grpc_port, rest_port = free_port(), free_port()
    service = os.environ.get("MONKEY_SERVICE_BIN")
    service_cmd = [service] if service else ["dotnet", str(ROOT / "src/Service/bin/Release/net10.0/monkey-coder-service.dll")]
    gateway_cmd = ["dotnet", str(ROOT / "src/Gateway.Json/bin/Release/net10.0/monkey-coder-gateway.dll")]
    WORK.mkdir(parents=True, exist_ok=True)
    procs = []
    for name, cmd, port in (("service", service_cmd, grpc_port), ("gateway", gateway_cmd, rest_port)):
        log = open(WORK / f"{name}.log", "w")
        procs.append(subprocess.Popen(cmd, env={**env, "PORT": str(port)}, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT))
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{rest_port}/readyz", timeout=2) as r:
                if r.status == 200:
                    with socket.create_connection(("127.0.0.1", grpc_port), timeout=2):
                        return procs, grpc_port, rest_port
        except OSError:
            pass
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.2)
    for p in procs:
        p.kill()
    sys.exit("docs-check: hosts did not start; see artifacts/docs-check/*.log")


def rewrite(body, grpc_port, rest_port):
    return body.replace("localhost:8080", f"127.0.0.1:{rest_port}").replace("localhost:50051", f"127.0.0.1:{grpc_port}")


def python_stubs():
    out = WORK / "python"
    shutil.rmtree(out, ignore_errors=True); out.mkdir(parents=True)
    wkt = "/usr/lib/python3/dist-packages/grpc_tools/_proto"  # google/protobuf/*.proto from python3-grpc-tools
    protos = [str(p.relative_to(ROOT / "protos")) for p in (ROOT / "protos").rglob("*.proto")]
    subprocess.run(["protoc", "-I", str(ROOT / "protos"), "-I", wkt, f"--python_out={out}", f"--grpc_python_out={out}",
                    "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin", *protos], check=True, cwd=ROOT / "protos")
    return out


def run_sample(b, grpc_port, rest_port, env):
    where = f"{b['file'].relative_to(ROOT)}:{b['line']}"
    body = rewrite(b["body"], grpc_port, rest_port)
    lang = b["lang"]
    if lang in ("bash", "sh"):
        cmd = ["bash", "-euo", "pipefail", "-c", body]
    elif lang == "python":
        path = WORK / f"sample_{b['line']}.py"; path.write_text(body)
        cmd = ["/usr/bin/python3", str(path)]
    elif lang in ("js", "javascript"):
        path = WORK / f"sample_{b['line']}.cjs"; path.write_text(body)
        cmd = ["node", str(path)]
    elif lang == "csharp":
        target = [f.split("=", 1)[1] for f in b["flags"] if f.startswith("file=")]
        if not target:
            fail(f"{where}: csharp test blocks need file=PATH"); return
        source = ROOT / target[0]
        if not source.exists() or source.read_text() != b["body"]:
            fail(f"{where}: block differs from {target[0]} (copy the file into the doc)"); return
        project = source.parent
        build = subprocess.run(["dotnet", "build", str(project), "-c", "Release", "-nologo", "-v", "quiet", "-warnaserror"],
                               capture_output=True, text=True, timeout=600)
        if build.returncode != 0:
            fail(f"{where}: dotnet build {project.relative_to(ROOT)} failed:\n{build.stdout[-3000:]}"); return
        cmd = ["dotnet", "run", "--no-build", "-c", "Release", "--project", str(project), "--", f"http://127.0.0.1:{grpc_port}"]
    else:
        fail(f"{where}: unknown sample language '{lang}'"); return
    started = time.time()
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    except subprocess.TimeoutExpired:
        fail(f"{where}: timed out"); return
    output = result.stdout + result.stderr
    ran[lang] = ran.get(lang, 0) + 1
    if result.returncode != 0:
        fail(f"{where}: {lang} sample exited {result.returncode}:\n{output[-3000:]}"); return
    if b["marker"] == "expect" and not re.search(b["marker_value"], output):
        fail(f"{where}: output does not match /{b['marker_value']}/:\n{output[-2000:]}"); return
    print(f"  ok   {where} ({lang}, {time.time() - started:.1f}s)", flush=True)


def check_references():
    config = (DOCS / "configuration.md").read_text()
    env_map = (ROOT / "src/Core/Configuration/EnvironmentVariables.cs").read_text()
    for var, key in re.findall(r'\("([A-Z0-9_]+)", "(MonkeyCoder:[^"]+)"\)', env_map):
        if f"`{var}`" not in config:
            fail(f"docs/configuration.md: environment variable `{var}` ({key}) is not documented")
    for cs in (ROOT / "src").rglob("*.cs"):
        if "/bin/" in str(cs) or "/obj/" in str(cs):
            continue
        text = cs.read_text()
        for cls in re.finditer(r"public sealed class (\w+Options)\s*\{(.*?)\n\}", text, re.S):
            section = re.search(r'const string Section = "([^"]+)"', cls.group(2))
            if not section:
                continue
            for prop in re.findall(r"public [\w?<>\[\], ]+ (\w+) \{ get; (?:set|init); \}", cls.group(2)):
                if f"{section.group(1)}:{prop}" not in config:
                    fail(f"docs/configuration.md: setting `{section.group(1)}:{prop}` ({cls.group(1)}) is not documented")
    api = (DOCS / "api.md").read_text()
    for proto in (ROOT / "protos/monkeycoder").rglob("*.proto"):
        text = proto.read_text()
        for service, body in re.findall(r"service (\w+) \{(.*?)\n\}", text, re.S):
            for rpc in re.findall(r"rpc (\w+)\(", body):
                if f"{service}/{rpc}" not in api:
                    fail(f"docs/api.md: RPC {service}/{rpc} is not documented")
            for verb, path in re.findall(r"(get|post|put|patch|delete): \"([^\"]+)\"", body):
                if f"{verb.upper()} {path}" not in api:
                    fail(f"docs/api.md: HTTP mapping {verb.upper()} {path} is not documented")
    readme = (DOCS / "README.md").read_text()
    planned = set(re.findall(r"\[[^\]]+\]\(([\w./-]+\.md)\)[^\n]*\(planned\)", readme))
    for md in DOCS.rglob("*.md"):
        for link in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", md.read_text()):
            if re.match(r"^[a-z]+:", link):
                continue
            if not (md.parent / link).resolve().exists() and link not in planned:
                fail(f"{md.relative_to(ROOT)}: broken link {link}")


def main():
    print("docs-check: reference completeness", flush=True)
    check_references()
    samples, unchecked = [], []
    for md in sorted(DOCS.rglob("*.md")) + [ROOT / "src/Core/Hosting/README.md"]:
        for b in blocks(md):
            if "test" in b["flags"]:
                samples.append(b)
            elif b["lang"] in ("bash", "sh", "shell"):
                where = f"{md.relative_to(ROOT)}:{b['line']}"
                if b["marker"] != "checked-by":
                    fail(f"{where}: a shell block must be runnable (```bash test) or name what checks it (<!-- checked-by: PATH -->)")
                elif not all((ROOT / p.strip()).exists() for p in b["marker_value"].split(",")):
                    fail(f"{where}: checked-by names a missing file: {b['marker_value']}")
    print(f"docs-check: {len(samples)} samples; starting Service and Gateway on embedded defaults", flush=True)
    procs, grpc_port, rest_port = start_hosts()
    try:
        env = dict(os.environ)
        env["MONKEY_CODER_API_KEY"] = DOCS_KEY
        if any(b["lang"] == "python" for b in samples):
            env["PYTHONPATH"] = str(python_stubs())
        if os.environ.get("MONKEY_TEST_DATABASE_URL"):
            env["DATABASE_URL"] = os.environ["MONKEY_TEST_DATABASE_URL"]
        for b in samples:
            run_sample(b, grpc_port, rest_port, env)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                code = p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill(); code = "killed"
            if code != 0:
                fail(f"a host exited with {code} after SIGTERM (see artifacts/docs-check/*.log)")
    for name in ("service", "gateway"):
        log = (WORK / f"{name}.log").read_text()
        bad = [l for l in log.splitlines() if l.startswith(("fail:", "crit:"))]
        if bad:
            fail(f"the {name} logged errors while serving the samples: {bad[:3]}")
    counts = ", ".join(f"{n} {k}" for k, n in sorted(ran.items()))
    if errors:
        print(f"docs-check: {len(errors)} problems ({counts} samples ran)")
        sys.exit(1)
    print(f"docs-check: ok ({counts} samples ran)")


if __name__ == "__main__":
    main()
