"""gunicorn settings for production: `gunicorn -c deploy/gunicorn.conf.py` from the project folder.

Every setting can be changed through the environment (docs/production.md lists them). Sync workers, one
request at a time each: the application is CPU-bound Python (the workflow engine, templates), so more
workers, not threads, use more cores. Run `flask worker` processes beside it (deploy/systemd, Procfile).
"""

import gc
import os
import shutil
from pathlib import Path
from typing import Any

_PROJECT = Path(__file__).resolve().parent.parent

wsgi_app = "app:create_app()"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Web processes: two per core by default (a request also waits for PostgreSQL).
workers = int(os.environ.get("WEB_CONCURRENCY", str(2 * (os.cpu_count() or 1))))
worker_class = "sync"
# A request running longer than this is killed and its worker replaced (the engine's scripts stop at 2 s).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# Each worker is replaced after about this many requests, so memory that creeps up is given back.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # heartbeat files off the disk
# Addresses of the reverse proxy whose X-Forwarded-Proto gunicorn trusts (HTTPS detection for secure cookies).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# With LOG_FORMAT=json the application logs every request itself (app.request); else gunicorn's access log.
accesslog = None if os.environ.get("LOG_FORMAT") == "json" else "-"
errorlog = "-"
proc_name = "conac-web"
# No runtime control socket (gunicornc): systemd and signals manage the service, and two instances on one
# host would otherwise share its default path.
control_socket_disable = True

# Metrics of all workers are added up through files in this folder (prometheus_client multiprocess mode). It
# must be in the environment before a worker imports the application, hence here; `flask worker` processes
# must be given the same folder to have their timer metrics in the same scrape.
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_PROJECT / "instance" / "prometheus"))
MULTIPROC_DIR = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def on_starting(server: Any) -> None:
    """Counters start from zero with each start of the web service: stale files would be added in."""
    shutil.rmtree(MULTIPROC_DIR, ignore_errors=True)
    MULTIPROC_DIR.mkdir(parents=True, mode=0o700)


def child_exit(server: Any, worker: Any) -> None:
    """A replaced worker's live values leave the scrape; its counts stay in the totals."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker: Any) -> None:
    """The worker's startup objects (modules, compiled diagrams, SQL constructs: about 200 000) are set aside
    from the garbage collector. A full collection walked them all, a pause of over 100 ms in whichever
    request triggered it (bench/inbox_scale.py showed it as the p95 of a 10 ms search)."""
    gc.freeze()
