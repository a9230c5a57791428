#!/usr/bin/env bash
# Schemathesis against a real `todo-api serve`, every check and every phase, signed in with a
# bearer token. Not part of the test suite; schemathesis is not a project dependency:
#   .venv/bin/pip install schemathesis
#   bench/schemathesis.sh sqlite                 # a fresh SQLite file
#   bench/schemathesis.sh postgresql [URL]       # a fresh database on a local PostgreSQL
# Extra arguments after the database go to `schemathesis run` (e.g. --max-examples 200).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$PWD/.venv/bin
config=$PWD/bench/schemathesis.toml  # what no schema can say: see the file and the hooks
export SCHEMATHESIS_HOOKS=$PWD/bench/schemathesis_hooks.py
kind=${1:-sqlite}
shift || true
admin_url=postgresql://postgres@127.0.0.1:5432/postgres
if [[ $kind == postgresql && ${1:-} == postgres* ]]; then admin_url=$1; shift; fi

work=$(mktemp -d)
port=$("$BIN/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export JWT_SECRET=schemathesis-local-secret-$RANDOM-$RANDOM-$RANDOM-$RANDOM
export LOG_LEVEL=WARNING
# Every webhook URL is sent as a local one (the hooks): no name looked up, nothing delivered
# beyond this machine.
export WEBHOOK_ALLOW_PRIVATE_URLS=true
db_name=""
if [[ $kind == postgresql ]]; then
  db_name=schemathesis_$RANDOM$RANDOM
  "$BIN/python" - "$admin_url" "$db_name" <<'PY'
import asyncio, sys
import asyncpg
async def main() -> None:
    conn = await asyncpg.connect(sys.argv[1])
    await conn.execute(f'CREATE DATABASE "{sys.argv[2]}"')
    await conn.close()
asyncio.run(main())
PY
  export DATABASE_URL=${admin_url%/*}/$db_name
else
  export DATABASE_URL=sqlite:///$work/schemathesis.db
fi

"$BIN/todo-api" serve --host 127.0.0.1 --port "$port" >"$work/server.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  if [[ -n $db_name ]]; then
    "$BIN/python" - "$admin_url" "$db_name" <<'PY'
import asyncio, sys
import asyncpg
async def main() -> None:
    conn = await asyncpg.connect(sys.argv[1])
    await conn.execute(f'DROP DATABASE IF EXISTS "{sys.argv[2]}" WITH (FORCE)')
    await conn.close()
asyncio.run(main())
PY
  fi
  echo "server log: $work/server.log"
}
trap cleanup EXIT
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.2
done

cd "$work"  # schemathesis keeps its cache in the working directory
# --request-timeout: the longest any answer (an event stream too) is waited for.
token=$("$BIN/todo-api" token --sub "schemathesis-$RANDOM" --email schemathesis@example.com)
"$BIN/schemathesis" --config-file "$config" run "http://127.0.0.1:$port/openapi.json" \
  --checks all \
  --phases examples,coverage,fuzzing,stateful \
  --header "Authorization: Bearer $token" \
  --workers 1 \
  --request-timeout 5 \
  --seed 1 \
  --report junit --report-dir "$work/report" \
  "$@"
