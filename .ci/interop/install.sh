#!/usr/bin/env bash
# Installs the third-party WebSocket clients the interop check drives:
# Node's `ws` (npm, pinned by package-lock.json) and Python's `websockets`
# (pip, pinned by requirements.txt, in a virtualenv under target/).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
venv=$repo/target/ci-tools/interop-venv
(cd "$here" && npm ci --no-audit --no-fund --silent)
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
