#!/usr/bin/env bash
# Runs schemathesis (PyPI, pinned) against `preppal serve` on a free loopback port, signed in
# with a dev session token. A 5xx, an undocumented status or a response outside the schema
# fails the script. Needs target/debug/preppal (cargo build -p preppal-examples).
#
# Usage: examples/ci/schemathesis.sh [max-examples]
set -euo pipefail
cd "$(dirname "$0")/../.."
max="${1:-${SCHEMATHESIS_MAX_EXAMPLES:-25}}"
venv="${SCHEMATHESIS_VENV:-target/schemathesis-venv}"
if ! "$venv/bin/schemathesis" --version >/dev/null 2>&1; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q schemathesis==4.32.5
fi
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
data="$(mktemp -d)"
PREPPAL_MAX_CREATIONS_PER_MINUTE=100000 target/debug/preppal serve \
  --addr "127.0.0.1:$port" --data-dir "$data" --dev-auth >"$data/server.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.5
done
token="$(curl -fsS -X POST -H 'content-type: application/json' \
  -d '{"email":"schemathesis@example.com"}' "http://127.0.0.1:$port/api/auth/dev" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["session_token"])')"
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
# Sign-out revokes the session, so it runs last, on its own: before it every other
# operation is tried signed in.
"$venv/bin/schemathesis" run "http://127.0.0.1:$port/api/openapi.json" \
  --header "Authorization: Bearer $token" \
  --exclude-path /api/auth/signout \
  --checks "$checks" \
  --max-examples "$max" \
  --no-color
"$venv/bin/schemathesis" run "http://127.0.0.1:$port/api/openapi.json" \
  --header "Authorization: Bearer $token" \
  --include-path /api/auth/signout \
  --checks "$checks" \
  --max-examples "$max" \
  --no-color
