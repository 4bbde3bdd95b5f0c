#!/usr/bin/env bash
# Installs the Autobahn|Testsuite (`wstest`) into $AUTOBAHN_HOME (default:
# target/ci-tools/autobahn inside the repository). Idempotent. Everything comes
# from the package registries; a missing prerequisite is an error, never a skip.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
home=${AUTOBAHN_HOME:-$repo/target/ci-tools/autobahn}
req=$here/requirements-py27.txt
stamp=$home/.stamp
want=$(cat "$req" "$0" | sha256sum | cut -d' ' -f1)

die() { echo "autobahn install: ERROR: $*" >&2; exit 1; }

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$home/bin/wstest" ]; then
  exit 0
fi

# A CPython 2.7 with ssl, zlib and headers (two packages compile C code).
find_py2() {
  local cand=() v
  command -v python2.7 >/dev/null 2>&1 && cand+=("$(command -v python2.7)")
  if command -v pyenv >/dev/null 2>&1; then
    for v in $(pyenv versions --bare 2>/dev/null | grep -E '^2\.7' || true); do
      cand+=("$(pyenv prefix "$v")/bin/python2.7")
    done
  fi
  for p in "${cand[@]}"; do
    if "$p" -c 'import ssl, zlib, os; from distutils import sysconfig as s; assert os.path.exists(os.path.join(s.get_python_inc(), "Python.h"))' >/dev/null 2>&1; then
      echo "$p"; return 0
    fi
  done
  return 1
}
py2=${AUTOBAHN_PYTHON2:-$(find_py2)} || die "no usable CPython 2.7 (with ssl, zlib and headers) found; set AUTOBAHN_PYTHON2"

rm -rf "$home"
mkdir -p "$home"
echo "autobahn install: python 2.7 at $py2" >&2
# virtualenv 20.21 is the last release able to create 2.7 environments; it
# runs on python3 and seeds pip/setuptools versions that still support 2.7.
python3 -m pip install -q --disable-pip-version-check --target "$home/virtualenv" \
  virtualenv==20.21.1 distlib==0.3.8 filelock==3.12.2 platformdirs==3.11.0 \
  || die "could not install virtualenv"
PYTHONPATH=$home/virtualenv python3 -m virtualenv -q -p "$py2" "$home/venv" \
  || die "could not create the python 2.7 virtualenv"
PYTHONWARNINGS=ignore "$home/venv/bin/pip" install -q --disable-pip-version-check \
  --no-deps --no-build-isolation --only-binary cryptography,cffi,ujson -r "$req" \
  || die "pip install of the pinned suite failed"
PYTHONWARNINGS=ignore "$home/venv/bin/pip" check >/dev/null || die "pip check failed"
mkdir -p "$home/bin"
cat > "$home/bin/wstest" <<WRAP
#!/usr/bin/env bash
PYTHONWARNINGS=ignore exec "$home/venv/bin/wstest" "\$@"
WRAP
chmod +x "$home/bin/wstest"
"$home/bin/wstest" -a >/dev/null 2>&1 || die "wstest does not start"
echo "$want" > "$stamp"
echo "autobahn install: ready at $home/bin/wstest" >&2
