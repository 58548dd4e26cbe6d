#!/usr/bin/env bash
# Run a command with a real Chroma server up and ASSISTANT_CHROMA_URL pointing at it;
# the server (and its data, in a temporary folder) goes away afterwards, whatever happens.
#   bash scripts/with_chroma_server.sh .venv/bin/python -m pytest tests/integration
set -euo pipefail
cd "$(dirname "$0")/.."
port="${CHROMA_PORT:-8765}"
data="$(mktemp -d)"
log="$data/chroma.log"
.venv/bin/chroma run --path "$data/db" --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$data"; }
trap cleanup EXIT
for _ in $(seq 1 120); do
  if .venv/bin/python -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; then
    break
  fi
  kill -0 "$server" 2>/dev/null || { echo "chroma run exited:"; cat "$log"; exit 1; }
  sleep 0.5
done
echo "Chroma server on http://127.0.0.1:$port (pid $server)"
ASSISTANT_CHROMA_URL="http://127.0.0.1:$port" "$@"
