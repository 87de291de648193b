#!/usr/bin/env bash
# Idempotent set-up on a fresh Debian machine: system packages, venv, Python packages,
# database schema, diagrams and demo data. Safe to run again at any time.
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: browser tests; fonts-noto-cjk: PDFs and screenshots; poppler-utils: PDF checks;
# bind9-utils: named-checkzone checks the zone files of `flask dns export`.
APT_PACKAGES=(chromium fonts-noto-cjk poppler-utils bind9-utils)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
# pg_dump / pg_restore for `flask backup` and `flask restore` on PostgreSQL (Debian's client matches its server).
command -v pg_dump >/dev/null 2>&1 || missing+=(postgresql-client)
python3 -c "import ensurepip" >/dev/null 2>&1 || missing+=(python3-venv)
if ((${#missing[@]})); then
  echo "==> 安装系统软件包: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "==> 创建虚拟环境 .venv"
  python3 -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  echo "==> 安装 Python 依赖"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e ".[pg,dev]"
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# The stamp covers what the vendor folder is built from: the packages and the studio's bpmnlint entry.
front_stamp() { echo "app/static/vendor/.stamp-$(cat package.json package-lock.json app/static/studio/lint-entry.js | sha256sum | cut -c1-16)"; }
if [ ! -f "$(front_stamp)" ]; then
  echo "==> 安装前端依赖 (npm)"
  npm install --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null
  rm -rf app/static/vendor && mkdir -p app/static/vendor
  cp -r node_modules/bootstrap/dist app/static/vendor/bootstrap
  cp -r node_modules/bpmn-js/dist app/static/vendor/bpmn-js
  # ECharts: the 统计 page's charts (app/static/dashboards.js); the one prebuilt file is all it loads.
  mkdir -p app/static/vendor/echarts && cp node_modules/echarts/dist/echarts.min.js app/static/vendor/echarts/
  # axe-core: only the browser tests inject it into the pages they visit (accessibility check).
  mkdir -p app/static/vendor/axe-core && cp node_modules/axe-core/axe.min.js app/static/vendor/axe-core/
  # bpmnlint in the studio's editor: our entry with the rules resolved statically, bundled into one file.
  node_modules/.bin/esbuild app/static/studio/lint-entry.js --bundle --format=iife --global-name=StudioLint \
    --minify --log-level=warning --outfile=app/static/vendor/bpmnlint/studio-lint.js
  touch "$(front_stamp)"  # after the install, which may have rewritten the lock file
fi

echo "==> 编译界面翻译"
.venv/bin/pybabel compile -d translations >/dev/null 2>&1

export FLASK_APP=app
# The first start of the app (here: the migration) writes a random instance/secret_key (mode 0600) once.
echo "==> 升级数据库结构"
.venv/bin/flask db upgrade heads >/dev/null
echo "==> 载入行政区划"
.venv/bin/flask regions load
echo "==> 部署流程图"
.venv/bin/flask deploy
