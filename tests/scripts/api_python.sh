#!/bin/bash
# tests/scripts/api_python.sh [BUILD_DIR [PYTEST_ARGS...]] — pictord's client-side test suite
# (tests/api/, README there): the official OpenAI SDK end to end, every
# validation rule, auth, overload, drain, disconnect, streaming, and
# schemathesis against docs/openapi.yaml, all on loopback with the tiny FLUX
# fixture. Uses BUILD_DIR/bin/pictord (BUILD_DIR: $1, else $PICTOR_BUILD as
# tests/run-all sets it, else build). More arguments go to pytest, e.g.
#   tests/scripts/api_python.sh build -k "stream or disconnect" -x
#
# The Python packages live in BUILD_DIR/venv-api, made with `python3 -m venv`
# and filled from tests/api/requirements.txt (pinned; needs the network the
# first time). It is remade only when requirements.txt or python3 changes.
# Exit status 0 iff every test passed (an expected failure marked xfail is a
# pass; one that starts passing is a failure).
set -u
cd "$(dirname "$0")/../.."
B=${1:-${PICTOR_BUILD:-build}}
[ $# -gt 0 ] && shift
V="$B/venv-api"
REQ=tests/api/requirements.txt
TEST_TIMEOUT_S=240 # per test; the whole suite takes ~2 minutes on 2 cores

[ -x "$B/bin/pictord" ] || { echo "api_python: $B/bin/pictord is missing: run make first"; exit 1; }
command -v python3 >/dev/null || { echo "api_python: python3 is missing (make deps)"; exit 1; }

stamp="$(sha256sum "$REQ" | cut -d' ' -f1) $(python3 -c 'import sys; print(sys.version)' | head -1)"
if [ "$(cat "$V/.stamp" 2>/dev/null)" != "$stamp" ]; then
    echo "api_python: setting up $V"
    rm -rf "$V"
    if ! python3 -m venv "$V"; then
        echo "api_python: python3 -m venv failed (Debian: apt-get install python3-venv)"
        exit 1
    fi
    if ! "$V/bin/python" -m pip install -q --disable-pip-version-check -r "$REQ"; then
        echo "api_python: pip install -r $REQ failed (network?)"
        rm -rf "$V"
        exit 1
    fi
    echo "$stamp" > "$V/.stamp"
fi

export PICTOR_BUILD="$B"
# -p no:cacheprovider: no .pytest_cache in the source tree; -rfEXx: list
# failures, errors, xpasses and xfails at the end; the 5 slowest tests.
PYTHONDONTWRITEBYTECODE=1 "$V/bin/python" -m pytest tests/api -q -p no:cacheprovider \
    --timeout="$TEST_TIMEOUT_S" -rfEXx --durations=5 "$@"
rc=$?
echo "api_python: pytest exit status $rc"
exit $rc
