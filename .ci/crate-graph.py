#!/usr/bin/env python3
"""Checks the workspace's crate graph against docs/architecture.md.

The document draws every dependency between workspace crates in a fenced
block after the line `<!-- crate graph: checked by .ci/crate-graph.py -->`,
one line per crate: `CRATE ──► DEP, DEP (note), ...` or `CRATE ──► (nothing)`.
This script reads the real graph from `cargo metadata` (normal and build
dependencies; dev-dependencies are not architecture) and fails on an arrow
the code has that the document does not draw, on one the document draws
that the code does not have, and on a crate the block leaves out.
"""
import json
import re
import subprocess
import sys

MARKER = "<!-- crate graph: checked by .ci/crate-graph.py -->"


def drawn(doc_path):
    text = open(doc_path, encoding="utf-8").read()
    at = text.find(MARKER)
    if at < 0:
        sys.exit(f"crate graph: {doc_path} has no line {MARKER!r}")
    block = re.search(r"```[a-z]*\n(.*?)```", text[at:], re.S)
    if not block:
        sys.exit(f"crate graph: no fenced block after the marker in {doc_path}")
    edges, crates = set(), set()
    for line in block.group(1).splitlines():
        if not line.strip():
            continue
        m = re.match(r"^(\S+)\s+──►\s+(.*)$", line)
        if not m:
            sys.exit(f"crate graph: cannot read {line!r} in {doc_path}")
        src, rest = m.group(1), re.sub(r"\([^)]*\)", "", m.group(2))
        crates.add(src)
        for dep in (d.strip() for d in rest.split(",")):
            if dep:
                edges.add((src, dep))
    return crates, edges


def actual():
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        check=True, capture_output=True, text=True).stdout)
    names = {p["name"] for p in meta["packages"]}
    edges = set()
    for p in meta["packages"]:
        for d in p["dependencies"]:
            if d["name"] in names and d["kind"] in (None, "build"):
                edges.add((p["name"], d["name"]))
    return names, edges


def main():
    doc = sys.argv[1] if len(sys.argv) > 1 else "docs/architecture.md"
    doc_crates, doc_edges = drawn(doc)
    names, edges = actual()
    problems = []
    for src, dep in sorted(edges - doc_edges):
        problems.append(f"{src} depends on {dep}, an arrow {doc} does not draw")
    for src, dep in sorted(doc_edges - edges):
        problems.append(f"{doc} draws {src} ──► {dep}, which the manifests do not have")
    for name in sorted(names - doc_crates):
        problems.append(f"{doc} leaves out the crate {name}")
    for name in sorted(doc_crates - names):
        problems.append(f"{doc} names {name}, which is not a workspace crate")
    if problems:
        print("\n".join("crate graph: " + p for p in problems), file=sys.stderr)
        sys.exit(1)
    print(f"crate graph: {len(edges)} arrows between {len(names)} crates, as drawn")


if __name__ == "__main__":
    main()
