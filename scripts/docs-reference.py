#!/usr/bin/env python3
"""Regenerates the code-derived reference sections of docs/configuration.md and docs/api.md.

The hand-written sections explain; these sections list everything the code defines that the prose
does not already cover: every environment variable (EnvironmentVariables.cs), every setting of an
options class (its XML doc summary, which states the default), and every RPC with its HTTP
mapping and proto comment. scripts/docs-check.py fails when something is missing, so run this
after adding a setting or an RPC:  python3 scripts/docs-reference.py
"""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- generated:reference:start -->", "<!-- generated:reference:end -->"


def replace_block(path: Path, body: str):
    text = path.read_text()
    if START in text:
        text = text[: text.index(START)] + text[text.index(END) + len(END):]
    text = text.rstrip() + "\n\n" + START + "\n" + body.rstrip() + "\n" + END + "\n"
    path.write_text(text)


def summaries():
    """setting key -> doc summary, from every options class with a Section constant."""
    out = {}
    for cs in (ROOT / "src").rglob("*.cs"):
        if "/bin/" in str(cs) or "/obj/" in str(cs):
            continue
        text = cs.read_text()
        for cls in re.finditer(r"public sealed class (\w+Options)\s*\{(.*?)\n\}", text, re.S):
            section = re.search(r'const string Section = "([^"]+)"', cls.group(2))
            if not section:
                continue
            for doc, prop in re.findall(r"((?:\s*///[^\n]*\n)*)(?:\s*\[[^\n]*\]\n)*\s*public [\w?<>\[\], ]+ (\w+) \{ get; (?:set|init); \}", cls.group(2)):
                summary = " ".join(l.strip()[3:].strip() for l in doc.strip().splitlines())
                summary = re.sub(r"</?summary>", "", summary)
                summary = re.sub(r'<see cref="([^"]+)"\s*/>', r"\1", summary)
                summary = re.sub(r"<c>([^<]+)</c>", r"`\1`", summary)
                summary = re.sub(r'<(paramref|typeparamref) name="([^"]+)"\s*/>', r"\2", summary).strip()
                out[f"{section.group(1)}:{prop}"] = summary.replace("|", "\\|")
    return out


def configuration():
    path = ROOT / "docs/configuration.md"
    text = path.read_text()
    prose = text[: text.index(START)] if START in text else text
    env_map = re.findall(r'\("([A-Z0-9_]+)", "(MonkeyCoder:[^"]+)"\)', (ROOT / "src/Core/Configuration/EnvironmentVariables.cs").read_text())
    docs = summaries()
    by_key = {key: var for var, key in env_map}
    rows = []
    for key in sorted(set(docs) | set(by_key.values() and by_key)):
        var = by_key.get(key)
        # The prose covers a setting only when it names the key (and its variable, if it has one):
        # docs-check asks for both.
        if key in prose and (not var or f"`{var}`" in prose):
            continue
        rows.append(f"| {f'`{var}`' if var else '—'} | `{key}` | {docs.get(key, '')} |")
    body = ["## Reference: every other setting", "",
            "Generated from the code by `scripts/docs-reference.py`: the settings the sections above do not",
            "describe, with each option's own documentation (defaults and units included). Every setting can also",
            "be given as `MonkeyCoder__Section__Key` or in appsettings.json.", "",
            "| variable | setting | effect and default |", "|---|---|---|", *rows]
    replace_block(path, "\n".join(body))


def api():
    path = ROOT / "docs/api.md"
    text = path.read_text()
    prose = text[: text.index(START)] if START in text else text
    rows = []
    for proto in sorted((ROOT / "protos/monkeycoder").rglob("*.proto")):
        src = proto.read_text()
        for service, body in re.findall(r"service (\w+) \{(.*?)\n\}", src, re.S):
            for comment, rpc, req, stream, resp, options in re.findall(
                    r"((?:\s*//[^\n]*\n)*)\s*rpc (\w+)\((\w+)\) returns \((stream )?(\w+)\) \{(.*?)\n  \}", body, re.S):
                mapping = " ".join(f"{v.upper()} {p}" for v, p in re.findall(r"(get|post|put|patch|delete): \"([^\"]+)\"", options))
                if f"{service}/{rpc}" in prose and all(m in prose for m in re.findall(r"[A-Z]+ \S+", mapping)):
                    continue
                lines = [l.strip()[2:].strip() for l in comment.strip().splitlines() if not l.strip().startswith("// buf:")]
                rows.append(f"| `{service}/{rpc}` | `{mapping or '—'}` | `{req}` → `{'stream ' if stream else ''}{resp}` | {' '.join(lines)} |")
    body = ["## Reference: every other RPC", "",
            "Generated from `protos/` by `scripts/docs-reference.py`. Each RPC takes and returns the messages",
            "named; field meanings are in the proto comments (\"Required.\" / \"Optional.\").", "",
            "| RPC | REST mapping | messages | what it does |", "|---|---|---|---|", *rows]
    replace_block(path, "\n".join(body))


if __name__ == "__main__":
    configuration()
    api()
