#!/usr/bin/env bash
# Set up, lint, and run the whole test suite (SQLite, plus PostgreSQL when 127.0.0.1:5432 answers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check app tests bench
.venv/bin/python -m pytest "$@"
