#!/usr/bin/env python3
"""Import cycles between the source files of each crate in the workspace.

A file depends on another when it names an item through `crate::`, `super::` or `self::` paths
(in `use` lines or inline) that resolve to that file's module. `mod` declarations alone are not
dependencies; intra-doc links in doc comments and a file's own unit tests count. Prints each
crate's cycles (strongly connected components of more than one file) and exits 1 when there is
any, so scripts/test.sh can hold the line.

    python3 scripts/import-cycles.py [CRATE_DIR ...]
"""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATH_RE = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
GROUP_RE = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{")


def module_of(src: Path, file: Path) -> tuple:
    rel = file.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("lib", "main") and len(parts) == 1:
        return ()
    if parts[-1] == "mod":
        parts = parts[:-1]
    return tuple(parts)


def strip_comments(text: str) -> str:
    # Plain comments do not link; doc comments (`///`, `//!`) do, through intra-doc links.
    return re.sub(r"(?<!/)//(?![/!])[^\n]*", "", text)


def group_paths(text: str, start: int):
    """Paths inside a `{...}` use group starting at text[start] == '{' (one level of nesting)."""
    depth, i, buf = 0, start, ""
    while i < len(text):
        c = text[i]
        if c == "{":
            depth += 1
            if depth == 1:
                i += 1
                continue
        elif c == "}":
            depth -= 1
            if depth == 0:
                break
        buf += c
        i += 1
    out, depth, cur = [], 0, ""
    for c in buf:
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
        if c == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += c
    if cur.strip():
        out.append(cur.strip())
    res = []
    for p in out:
        p = p.split(" as ")[0].strip()
        head = re.match(r"[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*", p)
        if head:
            res.append(head.group(0).split("::"))
    return res


def crate_graph(crate: Path):
    src = crate / "src"
    files = {module_of(src, f): f for f in src.rglob("*.rs") if "bin" not in f.relative_to(src).parts}
    edges = {m: set() for m in files}

    def resolve(mod, kind, segs):
        if kind == "crate":
            base = ()
        elif kind == "self":
            base = mod
        else:
            base = mod[:-1]
            while segs and segs[0] == "super":
                base, segs = base[:-1], segs[1:]
        full = base + tuple(s for s in segs if s != "self")
        for n in range(len(full), -1, -1):
            if full[:n] in files:
                return full[:n]
        return None

    for mod, f in files.items():
        text = strip_comments(f.read_text())
        refs = []
        for m in PATH_RE.finditer(text):
            refs.append((m.group(1), m.group(2).split("::")[1:]))
        for m in GROUP_RE.finditer(text):
            prefix = m.group(2).split("::")[1:]
            for p in group_paths(text, m.end() - 1):
                refs.append((m.group(1), prefix + p))
        for kind, segs in refs:
            target = resolve(mod, kind, segs)
            if target is not None and target != mod:
                edges[mod].add(target)
    return files, edges


def sccs(edges):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(comp)

    sys.setrecursionlimit(10000)
    for v in edges:
        if v not in index:
            visit(v)
    return [c for c in out if len(c) > 1]


def main():
    crates = [Path(a) for a in sys.argv[1:]] or sorted(
        p.parent for p in ROOT.glob("*/Cargo.toml") if (p.parent / "src").is_dir()
    )
    total = 0
    for crate in crates:
        files, edges = crate_graph(crate.resolve())
        name = lambda m: str(files[m].relative_to(ROOT))
        for comp in sccs(edges):
            total += 1
            members = sorted(comp)
            pairs = sorted(
                f"{name(a)} -> {name(b)}" for a in members for b in edges[a] if b in comp
            )
            print(f"cycle in {crate.name}: " + ", ".join(name(m) for m in members))
            for p in pairs:
                print(f"    {p}")
    print(f"{total} import cycle(s)")
    sys.exit(1 if total else 0)


if __name__ == "__main__":
    main()
