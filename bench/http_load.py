"""Reviewers completing applications through the pages, against gunicorn on PostgreSQL.

Usage: python bench/http_load.py [--offices 16] [--applications 40] [--seconds 40] [--workers 2]

Set-up, on a scratch PostgreSQL database: migrations, the shipped diagrams and bench/two_step_review.bpmn
(编办 初审 then 复核, the decision form of the shipped procedures), one 编办 office per region with one reviewer
(password and an enrolled TOTP secret) and one unit, and `--applications` applications per office started
through the engine, so the load is the reviewers' page work only. Then gunicorn with deploy/gunicorn.conf.py
(`--workers` sync workers) and a loopback asyncio client (aiohttp): every reviewer logs in (password, then
the TOTP code) and loops: open 待办 (filtered to 复核中, else 初审中), open its first task, submit 通过. An
application is complete after its second task. Offices keep reviewers out of each other's items, so no
submission conflicts.

Printed: task and application completions per second, p50/p95/p99 per request kind, server CPU seconds per
task completion (gunicorn master and workers from /proc, and the PostgreSQL backends serving them), the
workers' RSS afterwards, and a cProfile of task completions in this process (the same pages through the
Flask test client) to show where the time goes. Needs 127.0.0.1:5432; the database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import psycopg
import pyotp
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import Engine, func, select

from app import create_app
from app.engine import get_engine
from app.extensions import db
from app.models import Office, ProcessInstance, Unit, User
from app.services.accounts import hash_password
from app.services.audit import Actor
from bench._databases import fresh_postgres_url
from tests.round_trips import counted

ROOT = Path(__file__).resolve().parent.parent
DIAGRAM = ROOT / "bench" / "two_step_review.bpmn"
PROCESS_ID = "bench_two_step_review"
PASSWORD = "Bench2026http"
DATABASE = f"bench_http_{os.getpid()}"
CSRF = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"|value="([^"]+)"[^>]*?name="csrf_token"')
VERSION = re.compile(r'name="expected_version" value="(\d+)"')
TASK_LINK = re.compile(r'href="/review/tasks/(\d+)"')
TICK = os.sysconf("SC_CLK_TCK")
WARM_UP = 3
CPU_ROUNDS = 7
STAGES = ("复核中", "初审中")  # the stages of bench/two_step_review.bpmn's second and first task
# Our code and the libraries' entry points in the cumulative profile (the rest is inside these).
PROFILE_CUMULATIVE = r"app/|orm/session.py.*execute|bpmn/workflow.py|jinja2/environment.py.*render|psycopg/cursor.py"
SITE = str(Path(aiohttp.__file__).resolve().parent.parent) + "/"


@dataclass(frozen=True)
class Reviewer:
    username: str
    secret: str


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    completed: int = 0
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))


# ---- set-up -----------------------------------------------------------------------------------------------


def seed(offices: int, per_office: int) -> list[Reviewer]:
    """Offices, reviewers and units, then the applications, started through the engine (one transaction each)."""
    digest, now = hash_password(PASSWORD), datetime.now(UTC)
    reviewers = []
    for number in range(offices + 1):  # the last office is kept for the in-process profile
        region = f"15{number + 1:02d}01"
        office = Office(
            code=f"编办:{region}", name=f"基准编办{number}", kind="编办", region_code=region, level="county"
        )
        reviewer = Reviewer(f"bench{number}", pyotp.random_base32())
        db.session.add_all([office, _unit(number, region)])
        db.session.add(
            User(
                username=reviewer.username,
                display_name=f"基准审核员{number}",
                password_hash=digest,
                role="编办",
                office=office,
                totp_secret=reviewer.secret,
                second_factor_method="totp",
                password_changed_at=now,
            )
        )
        reviewers.append(reviewer)
    db.session.commit()
    units = list(db.session.scalars(select(Unit.id).order_by(Unit.id)))
    runner = get_engine().runner
    for unit_id in units:
        for _ in range(per_office):
            runner.start(PROCESS_ID, unit_id, Actor("bench-unit", "单位"))
    return reviewers


def _unit(number: int, region: str) -> Unit:
    return Unit(
        name=f"基准单位{number}", uscc=f"BENCH{number:013d}", unit_type="党政机关", region_code=region, level="county"
    )


def set_up(url: str, offices: int, per_office: int) -> tuple[Flask, list[Reviewer]]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="heads")
        engine = get_engine()
        engine.deploy_folder("bench")
        engine.deploy_file(DIAGRAM, "bench", files_root=ROOT)
        started = time.perf_counter()
        reviewers = seed(offices, per_office)
        print(f"set-up: {offices} offices x {per_office} applications started in {time.perf_counter() - started:.1f} s")
    return app, reviewers


# ---- the server ----------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_gunicorn(url: str, port: int, workers: int, folder: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
        "LOGIN_LIMIT_PER_IP": "100000 per minute",  # every reviewer logs in from 127.0.0.1
    }
    log = (folder / "gunicorn.log").open("wb")
    command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", str(ROOT / "deploy" / "gunicorn.conf.py")]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


async def wait_ready(base: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(f"{base}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.3)
    raise SystemExit("gunicorn did not become ready (see its log)")


def process_tree(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *map(int, children)]


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def postgres_backends(url: str) -> list[int]:
    """The server processes serving the bench database (the gunicorn workers' pooled connections)."""
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return [row[0] for row in rows]


# ---- the load ------------------------------------------------------------------------------------------------


async def timed(tally: Tally, kind: str, call: Any) -> tuple[int, str, str]:
    started = time.perf_counter()
    async with call as response:
        body = await response.text()
    tally.latencies[kind].append(time.perf_counter() - started)
    if response.status >= 400:
        tally.errors[f"{kind} {response.status}"] += 1
    return response.status, body, response.headers.get("Location", "")


def token(page: str) -> str:
    match = CSRF.search(page)
    if match is None:
        raise RuntimeError("no csrf_token on the page")
    return match.group(1) or match.group(2)


async def log_in(http: aiohttp.ClientSession, base: str, reviewer: Reviewer, tally: Tally) -> None:
    _, page, _ = await timed(tally, "login page", http.get(f"{base}/login"))
    form = {"username": reviewer.username, "password": PASSWORD, "csrf_token": token(page)}
    status, _, location = await timed(tally, "login", http.post(f"{base}/login", data=form, allow_redirects=False))
    if status != 302 or not location.endswith("/account/second-factor"):
        raise RuntimeError(f"{reviewer.username}: login answered {status} {location}")
    _, page, _ = await timed(tally, "login", http.get(f"{base}/account/second-factor"))
    code = {"code": pyotp.TOTP(reviewer.secret).now(), "csrf_token": token(page)}
    status, _, _ = await timed(
        tally, "login", http.post(f"{base}/account/second-factor", data=code, allow_redirects=False)
    )
    if status != 302:
        raise RuntimeError(f"{reviewer.username}: second factor answered {status}")


async def next_task(http: aiohttp.ClientSession, base: str, tally: Tally) -> str | None:
    """The first item of 待办 filtered by stage, 复核 before 初审: a reviewer finishes what is under way."""
    for stage in STAGES:
        _, inbox, _ = await timed(tally, "open 待办", http.get(f"{base}/review/", params={"stage": stage}))
        link = TASK_LINK.search(inbox)
        if link is not None:
            return link.group(1)
    return None


async def review(http: aiohttp.ClientSession, base: str, tally: Tally, deadline: float) -> None:
    """open 待办 → open its first task → submit 通过, until the office's list is empty or time is up."""
    while time.monotonic() < deadline:
        item = await next_task(http, base, tally)
        if item is None:
            return
        url = f"{base}/review/tasks/{item}"
        _, page, _ = await timed(tally, "open task", http.get(url))
        version = VERSION.search(page)
        form = {
            "decision": "approve",
            "csrf_token": token(page),
            "expected_version": version.group(1) if version else "",
        }
        status, _, _ = await timed(tally, "submit decision", http.post(url, data=form, allow_redirects=False))
        if status == 302:
            tally.completed += 1


async def reviewer_session(base: str, reviewer: Reviewer, tally: Tally, start: asyncio.Event, seconds: float) -> None:
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar, connector=aiohttp.TCPConnector(limit=1)) as http:
        await log_in(http, base, reviewer, tally)
        await start.wait()
        await review(http, base, tally, time.monotonic() + seconds)


async def run_load(base: str, reviewers: list[Reviewer], seconds: float, master: int, url: str) -> dict[str, Any]:
    tally, start = Tally(), asyncio.Event()
    sessions = [asyncio.create_task(reviewer_session(base, r, tally, start, seconds)) for r in reviewers]
    while len(tally.latencies["login"]) < 3 * len(reviewers):  # three requests each after the login page
        failed = [s for s in sessions if s.done()]
        if failed:
            raise SystemExit(f"a reviewer could not log in: {failed[0].exception()}")
        await asyncio.sleep(0.1)
    servers, backends = process_tree(master), postgres_backends(url)
    cpu_before, pg_before, client_before = cpu_seconds(servers), cpu_seconds(backends), time.process_time()
    started = time.perf_counter()
    start.set()
    await asyncio.gather(*sessions)
    elapsed = time.perf_counter() - started
    backends = sorted(set(backends) | set(postgres_backends(url)))
    return {
        "tally": tally,
        "elapsed": elapsed,
        "server_cpu": cpu_seconds(servers) - cpu_before,
        "postgres_cpu": cpu_seconds(backends) - pg_before,
        "client_cpu": time.process_time() - client_before,
        "servers": servers,
        "counted": await counted_completions(base),
    }


async def counted_completions(base: str) -> float:
    """workflow_task_completions_total of the bench procedure, added up over the gunicorn workers' files."""
    async with aiohttp.ClientSession() as http, http.get(f"{base}/metrics") as response:
        text = await response.text()
    match = re.search(rf'workflow_task_completions_total{{procedure="{PROCESS_ID}"}} ([0-9.e+]+)', text)
    return float(match.group(1)) if match else 0.0


# ---- report --------------------------------------------------------------------------------------------------


def percentiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        value = values[0] if values else 0.0
        return value, value, value
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[94], cuts[98]


def report(result: dict[str, Any], applications_done: int) -> None:
    tally, elapsed = result["tally"], result["elapsed"]
    completed = max(tally.completed, 1)
    print(f"\nload: {elapsed:.1f} s, {tally.completed} tasks completed, {applications_done} applications complete")
    print(f"  task completions/s        {tally.completed / elapsed:8.1f}")
    print(f"  application completions/s {applications_done / elapsed:8.1f}   (two tasks each)")
    requests = sum(len(v) for k, v in tally.latencies.items() if k not in ("login", "login page"))
    print(f"  requests/s                {requests / elapsed:8.1f}")
    print("\nlatency by request kind (ms)      count     p50     p95     p99")
    for kind in ("open 待办", "open task", "submit decision", "login"):
        values = tally.latencies.get(kind, [])
        p50, p95, p99 = (v * 1000 for v in percentiles(values))
        print(f"  {kind:<30} {len(values):6d} {p50:7.1f} {p95:7.1f} {p99:7.1f}")
    print("\nCPU seconds per task completion (during the load)")
    print(f"  gunicorn master + workers      {result['server_cpu'] / completed * 1000:7.1f} ms")
    print(f"  PostgreSQL backends serving it {result['postgres_cpu'] / completed * 1000:7.1f} ms")
    print(f"  load generator (this process)  {result['client_cpu'] / completed * 1000:7.1f} ms")
    per_task = (result["server_cpu"] + result["postgres_cpu"]) / completed
    cores = os.cpu_count() or 1
    print(f"  ceiling if web and database had all {cores} cores: {cores / per_task:.1f} task completions/s")
    print(f"  completions counted by the server's /metrics: {result['counted']:.0f}")
    print(f"  cores the gunicorn processes got during the load: {result['server_cpu'] / elapsed:.2f} of {cores}")
    print("\nRSS after the load")
    for pid in result["servers"][1:]:
        print(f"  worker {pid}: {rss_mb(pid):6.1f} MB")
    if tally.errors:
        print(f"\nerror answers: {dict(tally.errors)}")


def profile(app: Flask, reviewer: Reviewer, tasks: int) -> None:
    """cProfile (CPU time) of `tasks` completions through the Flask test client, on the same database."""
    with app.app_context():
        client = app.test_client()
        client.post("/login", data={"username": reviewer.username, "password": PASSWORD})
        client.post("/account/second-factor", data={"code": pyotp.TOTP(reviewer.secret).now()})
        links = TASK_LINK.findall(client.get("/review/").get_data(as_text=True))
        for item in links[:WARM_UP]:  # templates compiled, caches filled: as in a worker that has served a while
            _complete_in_process(client, item)
        # CPU time, not wall time: on a shared machine, waits for PostgreSQL and for the CPU would swamp it.
        profiler, work = cProfile.Profile(time.process_time), links[WARM_UP : WARM_UP + tasks]
        wall, cpu = time.perf_counter(), time.process_time()
        profiler.runcall(lambda: [_complete_in_process(client, item) for item in work])
        wall, cpu = (time.perf_counter() - wall) / len(work), (time.process_time() - cpu) / len(work)
        engine = db.engine
    # Outside the app context: each request gets a database session of its own, as under gunicorn.
    counts = _counted_requests(client, engine, _first_task(client))
    print("\nper request, counted (the same on a busy machine): statements sent, Python function calls")
    for kind, (statements, calls) in counts.items():
        print(f"  {kind:<18} {statements:4d} statements {calls:8d} calls")
    print(f"\nCPU per request in this process (test client included), median of {CPU_ROUNDS} tasks:")
    for kind, milliseconds in _cpu_per_request(client, CPU_ROUNDS).items():
        print(f"  {kind:<18} {milliseconds:6.2f} ms")
    print(f"\nprofile of {len(work)} tasks in this process (open task + submit + open 待办; test client included):")
    print(f"  {wall * 1000:.1f} ms wall, {cpu * 1000:.1f} ms CPU per task; CPU time below")
    for order, pattern, count in (("cumulative", PROFILE_CUMULATIVE, 26), ("tottime", "", 14)):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(*([pattern] if pattern else []), count)
        table = out.getvalue().split("ncalls", 1)[1]
        print(f"\nby {order}:\n   ncalls{table.rstrip()}".replace(SITE, "").replace(str(ROOT) + "/", ""))


def _counted_requests(client: Any, engine: Engine, item: str) -> dict[str, tuple[int, int]]:
    """Statements and Python function calls of each request of one more task (open task, submit, open 待办)."""
    counts: dict[str, tuple[int, int]] = {}
    requests = {
        "open task": lambda: client.get(f"/review/tasks/{item}"),
        "submit decision": lambda: client.post(
            f"/review/tasks/{item}", data={"decision": "approve", "expected_version": version}
        ),
        "open 待办": lambda: client.get("/review/"),
    }
    version = ""
    for kind, call in requests.items():
        profiler = cProfile.Profile()
        with counted(engine) as sent:
            response = profiler.runcall(call)
        counts[kind] = (len(sent.statements), pstats.Stats(profiler).total_calls)
        found = VERSION.search(response.get_data(as_text=True))
        version = found.group(1) if found else version
    return counts


def _first_task(client: Any) -> str:
    found = TASK_LINK.search(client.get("/review/").get_data(as_text=True))
    if found is None:
        raise SystemExit("the profiled reviewer has no task left: raise --applications")
    return found.group(1)


def _cpu_per_request(client: Any, rounds: int) -> dict[str, float]:
    """Median CPU ms of each kind of request over `rounds` tasks, and of a bare page (/account/password: the
    login check and the base layout, what every page costs at least)."""
    spent: dict[str, list[float]] = defaultdict(list)

    def timed(kind: str, method: str, url: str, **form: str) -> str:
        started = time.process_time()
        page = client.open(url, method=method, data=form or None).get_data(as_text=True)
        spent[kind].append(time.process_time() - started)
        return str(page)

    for _ in range(rounds):
        timed("bare page", "GET", "/account/password")
        item = TASK_LINK.search(timed("open 待办", "GET", "/review/")).group(1)  # type: ignore[union-attr]
        page = timed("open task", "GET", f"/review/tasks/{item}")
        version = VERSION.search(page).group(1)  # type: ignore[union-attr]
        timed("submit decision", "POST", f"/review/tasks/{item}", decision="approve", expected_version=version)
    return {kind: statistics.median(values) * 1000 for kind, values in spent.items()}


def _complete_in_process(client: Any, item: str) -> None:
    page = client.get(f"/review/tasks/{item}").get_data(as_text=True)
    version = VERSION.search(page)
    client.post(f"/review/tasks/{item}", data={"decision": "approve", "expected_version": version.group(1)})
    client.get("/review/")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--offices", type=int, default=16, help="offices, one reviewer each (concurrent clients)")
    parser.add_argument("--applications", type=int, default=40, help="applications per office")
    parser.add_argument("--seconds", type=float, default=40, help="longest load phase")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--profile-tasks", type=int, default=20)
    args = parser.parse_args()
    url = fresh_postgres_url(DATABASE)
    if url is None:
        raise SystemExit("PostgreSQL on 127.0.0.1:5432 is needed")
    folder = Path(tempfile.mkdtemp(prefix="http_load_"))
    server = None
    try:
        app, reviewers = set_up(url, args.offices, args.applications)
        port = free_port()
        server = start_gunicorn(url, port, args.workers, folder)
        base = f"http://127.0.0.1:{port}"
        asyncio.run(wait_ready(base))
        print(f"gunicorn: {args.workers} sync workers on {base}; {args.offices} reviewers, one per office")
        print("load average before the load (the machine is shared): {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
        result = asyncio.run(run_load(base, reviewers[:-1], args.seconds, server.pid, url))
        with app.app_context():
            done = db.session.scalar(select(func.count()).where(ProcessInstance.status == "completed")) or 0
        report(result, done)
        profile(app, reviewers[-1], args.profile_tasks)
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


if __name__ == "__main__":
    main()
