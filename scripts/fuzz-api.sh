#!/usr/bin/env bash
# Fuzz the whole API from its own OpenAPI schema with schemathesis, checking that nothing answers 5xx.
# Starts a throwaway stack (SQLite in var/fuzz.sqlite3 + embedded Redis) on port 8021, fuzzes as the
# demo caregiver (people endpoints) and as Rosa's watch (ingest), then stops it.
#   scripts/fuzz-api.sh [max examples per operation, default 30]
set -euo pipefail
cd "$(dirname "$0")/.."
EXAMPLES=${1:-30}
PORT=8021
[ -x .venv-fuzz/bin/schemathesis ] || { python3 -m venv .venv-fuzz && .venv-fuzz/bin/pip install -q schemathesis; }
make -s .venv/.installed
rm -f var/fuzz.sqlite3
DATABASE_URL="sqlite:///$PWD/var/fuzz.sqlite3" .venv/bin/python -m pulsera.devstack --port $PORT > var/fuzz-stack.log 2>&1 &
STACK=$!
trap 'kill -INT $STACK 2>/dev/null; wait $STACK 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -sf "http://127.0.0.1:$PORT/api/schema/" >/dev/null && break; sleep 1; done
TOKEN=$(curl -s -X POST -H 'Content-Type: application/json' \
  -d '{"email":"elena@pulsera.demo","password":"pulsera-demo"}' "http://127.0.0.1:$PORT/api/v1/auth/token/" |
  .venv/bin/python -c "import sys,json;print(json.load(sys.stdin)['token'])")
DEVICE=$(.venv/bin/python -c "import json;print(json.load(open('var/demo-devices.json'))['rosa@pulsera.demo']['token'])")
ST=".venv-fuzz/bin/schemathesis run http://127.0.0.1:$PORT/api/schema/ --checks not_a_server_error --max-examples $EXAMPLES"
$ST -H "Authorization: Bearer $TOKEN" --exclude-path /api/v1/auth/token/ --exclude-path /api/v1/ingest/
$ST -H "Authorization: Device $DEVICE" --include-path /api/v1/ingest/
echo "Server errors logged by Daphne: $(grep -c '" 5[0-9][0-9] ' var/fuzz-stack.log || true)"
