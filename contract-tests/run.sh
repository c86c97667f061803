#!/usr/bin/env bash
# Starts qbsync on a fresh SQLite database and drives it with zeep, a SOAP client that knows
# nothing but our WSDL.   contract-tests/run.sh path/to/qbsync
set -euo pipefail
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/qbsync-zeep.XXXXXX)
trap 'kill $server_pid 2>/dev/null || true; rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "zeep==4.3.*"
export DATABASE_URL="$work/qbsync.db"
"$bin" org create --name "Zeep Co" --json >/dev/null
conn=$("$bin" connection create --org "Zeep Co" --name Main --json)
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1" <<<"$conn"; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
QBSYNC_LOG=error "$bin" serve --listen "127.0.0.1:$port" --public-url "http://127.0.0.1:$port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
"$work/venv/bin/python" "$here/zeep_client.py" "http://127.0.0.1:$port" "$(field username)" "$(field password)"
