#!/usr/bin/env bash
# Runs the browser tests against the real qbsync binary: starts `qbsync serve` on a fresh SQLite
# database, seeds it through the CLI, a simulated Web Connector session and the API, runs the
# suite, then does the same with 10,000 locations and 10,000 customers for the performance test.
#
#   browser-tests/run-against-qbsync.sh path/to/qbsync [screenshot folder]
set -euo pipefail
bin=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
shots=$(realpath -m "${2:-$here/screenshots}")
mkdir -p "$shots"
work=$(mktemp -d /tmp/qbsync-browser.XXXXXX)
server_pid=""
fake_pid=""
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
  [[ -n $fake_pid ]] && kill "$fake_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# start_server DIR [PUBLIC_HOST]: a server on a fresh database in DIR; sets base, token, admin
# credentials. PUBLIC_HOST (default localhost) is the host of its public URL.
start_server() {
  local dir=$1 public_host=${2:-localhost}
  mkdir -p "$dir"
  export DATABASE_URL="$dir/qbsync.db"
  "$bin" org create --name "Sparkle Cleaning" --json >/dev/null
  admin_email=admin@sparkle.example
  admin_password="browser-tests-$RANDOM-$RANDOM"
  printf '%s\n' "$admin_password" | "$bin" admin create --org "Sparkle Cleaning" --email "$admin_email" --password-stdin --json >/dev/null
  local conn
  conn=$("$bin" connection create --org "Sparkle Cleaning" --name "Main office" --json)
  qb_user=$(json_field username <<<"$conn")
  qb_password=$(json_field password <<<"$conn")
  token=$("$bin" token create --org "Sparkle Cleaning" --json | json_field token)
  local port
  port=$(free_port)
  base="http://127.0.0.1:$port"
  # No API request budget: the performance test seeds 10,000 locations through the API.
  QBSYNC_LOG=warn "$bin" serve --listen "127.0.0.1:$port" --public-url "http://$public_host:$port" \
    --api-requests-per-minute 0 >"$dir/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 300); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "qbsync did not start:" >&2
  cat "$dir/server.log" >&2
  return 1
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

api_post() { curl -fsS -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' --data "$2" "$base$1" >/dev/null; }

echo "== browser tests against qbsync (seeded through a simulated Web Connector session)"
start_server "$work/main"
"$bin" simulate --url "$base" --username "$qb_user" --password "$qb_password" \
  --customers 120 --employees 80 --seed 7 --extra-customer '<img src=x onerror=alert(1)>'
api_post /api/v1/locations '{"name": "Main St office", "description": "Front desk and lobby", "address": {"line1": "12 Main St", "city": "Springfield"}}'
api_post /api/v1/staff '{"name": "Dana Whitfield", "email": "dana@sparkle.example"}'
(cd "$here" && QBSYNC_URL="$base" QBSYNC_EMAIL="$admin_email" QBSYNC_PASSWORD="$admin_password" \
  QBSYNC_FIXTURE_LOCATION="Main St office" QBSYNC_FIXTURE_STAFF="Dana Whitfield" QBSYNC_SCREENSHOTS="$shots" \
  QBSYNC_BIN="$bin" node --test)
stop_server

echo "== QuickBooks Online against qbsync simulate-online (a fake Intuit on loopback)"
mkdir -p "$work/online"
fake_port=$(free_port)
"$bin" simulate-online --listen "127.0.0.1:$fake_port" --customers 60 --employees 8 --seed 3 --consent page \
  >"$work/online/fake.log" 2>&1 &
fake_pid=$!
for _ in $(seq 1 300); do
  grep -q 'QBSYNC_QBO_WEBHOOK_TOKEN=' "$work/online/fake.log" 2>/dev/null && break
  sleep 0.1
done
grep -q 'QBSYNC_QBO_WEBHOOK_TOKEN=' "$work/online/fake.log" || { echo "simulate-online did not start:" >&2; cat "$work/online/fake.log" >&2; exit 1; }
# The settings it prints, `  QBSYNC_QBO_...=value`, become this server's environment.
while read -r setting; do export "${setting?}"; done < <(grep -o 'QBSYNC_QBO_[A-Z_]*=[^ ]*' "$work/online/fake.log")
# The browser signs in on 127.0.0.1, so Intuit must send it back to the same host.
start_server "$work/online" 127.0.0.1
(cd "$here" && QBSYNC_URL="$base" QBSYNC_EMAIL="$admin_email" QBSYNC_PASSWORD="$admin_password" QBSYNC_SCREENSHOTS="$shots" \
  QBSYNC_ONLINE=1 node --test online.test.mjs)
stop_server
kill "$fake_pid" 2>/dev/null || true
wait "$fake_pid" 2>/dev/null || true
fake_pid=""
unset QBSYNC_QBO_AUTH_URL QBSYNC_QBO_TOKEN_URL QBSYNC_QBO_REVOKE_URL QBSYNC_QBO_API_URL QBSYNC_QBO_CLIENT_ID \
  QBSYNC_QBO_CLIENT_SECRET QBSYNC_QBO_WEBHOOK_TOKEN

echo "== first-run setup link on an empty database"
mkdir -p "$work/setup"
port=$(free_port)
base="http://127.0.0.1:$port"
DATABASE_URL="$work/setup/qbsync.db" QBSYNC_LOG=warn "$bin" serve --listen "127.0.0.1:$port" --public-url "$base" >"$work/setup/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do
  grep -q '/admin/setup?token=' "$work/setup/server.log" 2>/dev/null && break
  sleep 0.1
done
setup_url=$(grep -o "$base/admin/setup?token=[0-9a-f]*" "$work/setup/server.log" | head -n 1)
[[ -n $setup_url ]] || { echo "serve printed no setup link" >&2; cat "$work/setup/server.log" >&2; exit 1; }
(cd "$here" && QBSYNC_URL="$base" QBSYNC_EMAIL=setup@sparkle.example QBSYNC_PASSWORD=unused QBSYNC_SETUP_URL="$setup_url" \
  QBSYNC_SCREENSHOTS="$shots" node --test --test-name-pattern=setup auth.test.mjs)
stop_server

echo "== performance: 10,000 locations and 10,000 QuickBooks customers"
start_server "$work/perf"
"$bin" simulate --url "$base" --username "$qb_user" --password "$qb_password" --customers 10000 --employees 20 --seed 8 >/dev/null
(cd "$here" && QBSYNC_URL="$base" QBSYNC_TOKEN="$token" node seed-locations.mjs 10000)
(cd "$here" && QBSYNC_URL="$base" QBSYNC_EMAIL="$admin_email" QBSYNC_PASSWORD="$admin_password" QBSYNC_SCREENSHOTS="$shots" \
  QBSYNC_PERF=1 node --test perf.test.mjs)
stop_server
