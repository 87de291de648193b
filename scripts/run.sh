#!/usr/bin/env bash
# Set up, seed the demo data, and serve the app on http://127.0.0.1:5000 (SQLite by default).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export FLASK_APP=app
.venv/bin/flask demo
echo "==> 启动定时任务处理进程 (flask worker)"
.venv/bin/flask worker --interval 30 &
worker_pid=$!
trap 'kill $worker_pid 2>/dev/null || true' EXIT
echo "==> 服务地址 http://127.0.0.1:${PORT:-5000}"
.venv/bin/flask run --host 127.0.0.1 --port "${PORT:-5000}"
