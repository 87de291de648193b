"""What the reliability tests and bench/reliability.py share: the consistency check of every application,
the races, a real web server and worker as subprocesses to kill, and a load client over HTTP.

An application is consistent when its stored workflow, its row and its read models tell one story:
the stage and status the workflow gives are the ones stored, its open user tasks are exactly its work
items, its waiting timers exactly its timer rows, the step log has one step per saved version, and the
audit trail has one event for each step (start, completion per task, message, timer).
"""

from __future__ import annotations

import http.client
import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine import Engine, get_engine
from app.engine.errors import ConflictError
from app.engine.worklist import Snapshot, current_stage
from app.extensions import db
from app.models import AuditEvent, Charge, ProcessInstance, StepRecord, TimerSubscription, WorkItem
from app.services import billing
from app.services.audit import Actor
from app.services.demo import DEMO_PASSWORD
from tests.test_runner import in_threads

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FLASK = str(PROJECT_ROOT / ".venv" / "bin" / "flask")
# Audit actions that are runner steps, by the step kind the same transaction logs.
_STEP_ACTIONS = {"start": "start", "complete": "complete", "message": "message", "timer": "timer"}


# ---- consistency -------------------------------------------------------------------------


def inconsistencies(session: Session, engine: Engine) -> list[str]:
    """One line per disagreement found in any application; empty when every one is consistent."""
    session.expire_all()
    problems: list[str] = []
    for instance in session.scalars(select(ProcessInstance).order_by(ProcessInstance.id)):
        problems += [f"{instance.business_key}: {p}" for p in _instance_problems(session, engine, instance)]
    session.rollback()
    return problems


def _instance_problems(session: Session, engine: Engine, instance: ProcessInstance) -> list[str]:
    compiled = engine.definitions.compiled_by_id(session, instance.definition_id)
    workflow = engine.runner.serializer.load(instance.state, compiled.spec, compiled.subprocess_specs)
    snapshot = Snapshot.of(workflow)
    problems = []
    if instance.status == "error":
        problems.append(f"marked error: {instance.error}")
    expected_status = "completed" if workflow.completed else "running"
    if instance.status not in (expected_status, "error"):
        problems.append(f"status {instance.status}, workflow says {expected_status}")
    stage = current_stage(workflow, snapshot, compiled, instance.stage)
    if stage != instance.stage:
        problems.append(f"stage {instance.stage}, workflow says {stage}")
    items = set(session.scalars(select(WorkItem.task_id).where(WorkItem.instance_id == instance.id)))
    if items != {str(t.id) for t in snapshot.ready}:
        problems.append("work items differ from the open user tasks")
    timers = set(session.scalars(select(TimerSubscription.task_id).where(TimerSubscription.instance_id == instance.id)))
    if timers != {str(t.id) for t in snapshot.waiting_for(TimerEventDefinition)}:
        problems.append("timer rows differ from the waiting timers")
    return problems + _log_problems(session, instance)


def _log_problems(session: Session, instance: ProcessInstance) -> list[str]:
    """One step per saved version, and one audit event per step of the same kind and task."""
    steps = session.execute(
        select(StepRecord.seq, StepRecord.kind, StepRecord.element).where(StepRecord.instance_id == instance.id)
    ).all()
    problems = []
    if sorted(s.seq for s in steps) != list(range(instance.version - len(steps) + 1, instance.version + 1)):
        problems.append(f"steps {sorted(s.seq for s in steps)} do not end at version {instance.version}")
    audited = session.execute(
        select(AuditEvent.action, AuditEvent.task_name).where(
            AuditEvent.instance_id == instance.id, AuditEvent.action.in_(_STEP_ACTIONS)
        )
    ).all()
    by_step = Counter((s.kind, s.element if s.kind == "complete" else None) for s in steps)
    by_audit = Counter((_STEP_ACTIONS[a.action], a.task_name if a.action == "complete" else None) for a in audited)
    if by_step != by_audit:
        problems.append(f"audit {dict(by_audit)} differs from steps {dict(by_step)}")
    return problems


def audit_count(session: Session, instance_id: int, action: str, task_name: str | None = None) -> int:
    query = select(AuditEvent.id).where(AuditEvent.instance_id == instance_id, AuditEvent.action == action)
    if task_name is not None:
        query = query.where(AuditEvent.task_name == task_name)
    return len(session.scalars(query).all())


# ---- applications to work on ---------------------------------------------------------------

PROCESS = "two_reviews"  # tests/diagrams/two_reviews.bpmn, deployed by the caller
UNIT, BIANBAN, CONAC = Actor("unit1", "单位"), Actor("bianban", "编办"), Actor("conac", "CONAC")
UNIT_LOGIN = ("unit1", DEMO_PASSWORD)  # the demo unit account (app.services.demo), whose unit submits
APPROVE = {"decision": "approve"}


def application_form(number: int) -> dict[str, Any]:
    return {
        "domain_name": f"可靠性测试{number}.政务",
        "years": 1,
        "contact_name": "张经办",
        "contact_mobile": "13800138000",
        "contact_email": "zhang@example.cn",
        "host_mode": "none",
    }


def open_task(instance_id: int) -> WorkItem:
    (item,) = db.session.scalars(select(WorkItem).where(WorkItem.instance_id == instance_id)).all()
    return item


def started(engine: Engine, unit_id: int, count: int) -> list[int]:
    """`count` applications of the unit, each at its 填写申请表."""
    return [engine.runner.start(PROCESS, unit_id, UNIT).id for _ in range(count)]


def fill_submissions(engine: Engine, unit_id: int, count: int, first_number: int = 0) -> list[Submission]:
    """Applications waiting for the unit's form, with the form each will send over HTTP."""
    submissions = []
    for number, instance_id in enumerate(started(engine, unit_id, count), start=first_number):
        fields = {key: str(value) for key, value in application_form(number).items()}
        submissions.append(Submission(instance_id, open_task(instance_id).id, {**fields, "action": "submit"}))
    return submissions


def at_review(engine: Engine, unit_id: int, count: int, first_number: int = 0) -> list[int]:
    """Applications submitted by the unit, waiting for the 编办's 初审."""
    instance_ids = started(engine, unit_id, count)
    for number, instance_id in enumerate(instance_ids, start=first_number):
        engine.runner.complete(open_task(instance_id).task_id, UNIT, application_form(number))
    return instance_ids


def awaiting_confirmation(engine: Engine, unit_id: int, count: int, first_number: int = 0) -> list[int]:
    """Applications reviewed twice and paid at the 编办: their charges wait for CONAC's 认款."""
    instance_ids = at_review(engine, unit_id, count, first_number)
    for number, instance_id in enumerate(instance_ids, start=first_number):
        engine.runner.complete(open_task(instance_id).task_id, BIANBAN, APPROVE)
        engine.runner.complete(open_task(instance_id).task_id, CONAC, APPROVE)
        fee = {"invoice_no": f"FP{number:06d}", "years": 1}
        engine.runner.complete(open_task(instance_id).task_id, BIANBAN, fee)
    return instance_ids


def remittance_of(engine: Engine, instance_ids: list[int], office_code: str = "编办:150600") -> int:
    """One remittance batch by the 编办 of the applications' collected charges."""
    charge_ids = [int(engine.reader.data(i)["charge_id"]) for i in instance_ids]
    remittance = billing.create_remittance(db.session, office_code, charge_ids, BIANBAN.name)
    db.session.commit()
    return remittance.id


def charges_confirmed(instance_ids: list[int]) -> int:
    db.session.expire_all()
    query = select(Charge.instance_id).where(Charge.instance_id.in_(instance_ids), Charge.status == "confirmed")
    return len(db.session.scalars(query).all())


# ---- races -------------------------------------------------------------------------------


@dataclass
class RaceFigures:
    attempts: int = 0
    wins: int = 0
    conflicts: int = 0
    doubles: int = 0  # tasks completed more than once
    other_errors: list[str] = field(default_factory=list)


def race_for_task(
    app: Flask, task_id: str, threads: int, role: str, data: dict[str, Any], figures: RaceFigures
) -> None:
    """`threads` people complete the same task at the same moment: one wins, the rest get a conflict."""

    def attempt(number: int) -> str:
        return get_engine().runner.complete(task_id, Actor(f"racer{number}", role), data).business_key

    results = in_threads(app, [lambda n=n: attempt(n) for n in range(threads)])
    wins = sum(isinstance(r, str) for r in results)
    figures.attempts += threads
    figures.wins += wins
    figures.conflicts += sum(isinstance(r, ConflictError) for r in results)
    figures.doubles += max(0, wins - 1)
    figures.other_errors += [repr(r) for r in results if not isinstance(r, str | ConflictError)]


# ---- subprocesses ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "FLASK_APP": "app",
        "DATABASE_URL": database_url,
        "PYTHONUNBUFFERED": "1",
        # One client logs in once per thread; the throttle is not what these runs measure.
        "LOGIN_LIMIT_PER_IP": "100000 per minute",
        "SESSION_COOKIE_SECURE": "false",
    }


def start_web(database_url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    """`flask run` (werkzeug, threaded, no reloader) on the database, in a process group of its own."""
    command = [FLASK, "run", "--host", "127.0.0.1", "--port", str(port), "--no-reload", "--no-debugger"]
    return _spawn(command, database_url, log)


def start_worker(database_url: str, now_iso: str, log: Path, once: bool = False) -> subprocess.Popen[bytes]:
    command = [FLASK, "worker", "--now", now_iso, "--interval", "0.2", *(["--once"] if once else [])]
    return _spawn(command, database_url, log)


def _spawn(command: list[str], database_url: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=_environment(database_url),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its sandbox workers share its group: one SIGKILL takes them all
        )


def kill_hard(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the process group this test started: no handler, no cleanup, no last commit."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def wait_until_listening(port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"web server exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("web server did not start listening")


@contextmanager
def web_server(database_url: str, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A running server's base URL and process; killed hard on the way out if still alive."""
    port = free_port()
    process = start_web(database_url, port, log)
    try:
        wait_until_listening(port, process, log)
        yield f"http://127.0.0.1:{port}", process
    finally:
        kill_hard(process)


# ---- load over HTTP ----------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 302 is the answer we record, not a page to follow


class Browser:
    """One user's cookie session against the server; answers are (status, Location, body)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        jar = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirects())
        self.csrf_token = ""

    def request(self, path: str, fields: dict[str, str] | None = None) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(fields).encode() if fields is not None else None
        try:
            with self._opener.open(self.base_url + path, data=body, timeout=30) as response:
                return response.status, response.headers.get("Location", ""), response.read().decode()
        except urllib.error.HTTPError as answer:
            return answer.code, answer.headers.get("Location", ""), answer.read().decode(errors="replace")

    def login(self, username: str, password: str) -> None:
        self.csrf_token = _csrf_token(self.request("/login")[2])
        status = self.request("/login", {"csrf_token": self.csrf_token, "username": username, "password": password})[0]
        if status != 302:
            raise RuntimeError(f"login of {username} answered {status}")

    def refresh_token(self, path: str) -> None:
        """The CSRF token of the logged-in session, read from a form page."""
        self.csrf_token = _csrf_token(self.request(path)[2])


def _csrf_token(page: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    if found is None:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1)


@dataclass
class LoadFigures:
    acknowledged: dict[int, str] = field(default_factory=dict)  # instance id -> business key the answer named
    refused: list[str] = field(default_factory=list)  # answers other than the acknowledgement
    unanswered: int = 0  # requests the server never answered (it was killed)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class Submission:
    """The unit's 填写申请表 of one application: its work item and the form it sends."""

    instance_id: int
    item_id: int
    fields: dict[str, str]


def submit_all(browser: Browser, queue: list[Submission], figures: LoadFigures) -> None:
    """Take submissions off the shared queue until it is empty or the server stops answering."""
    while True:
        with figures.lock:
            if not queue:
                return
            submission = queue.pop()
        try:
            status, location, _ = browser.request(
                f"/unit/tasks/{submission.item_id}", {**submission.fields, "csrf_token": browser.csrf_token}
            )
        except (OSError, http.client.HTTPException):  # refused, reset or cut off mid-answer: the server is gone
            with figures.lock:
                figures.unanswered += 1
            return
        key = location.rsplit("/", 1)[-1]
        with figures.lock:
            if status == 302 and "/unit/applications/" in location and not key.startswith("draft-"):
                figures.acknowledged[submission.instance_id] = urllib.parse.unquote(key)
            else:
                figures.refused.append(f"{submission.item_id}: {status} {location}")


def run_clients(
    base_url: str,
    credentials: tuple[str, str],
    queue: list[Submission],
    clients: int,
    figures: LoadFigures,
    when_running: Callable[[], None] = lambda: None,
) -> None:
    """`clients` logged-in browsers submit from the queue at once; `when_running` runs beside them."""
    browsers = []
    for _ in range(clients):
        browser = Browser(base_url)
        browser.login(*credentials)
        browser.refresh_token(f"/unit/tasks/{queue[-1].item_id}")
        browsers.append(browser)
    threads = [threading.Thread(target=submit_all, args=(b, queue, figures)) for b in browsers]
    for thread in threads:
        thread.start()
    when_running()
    for thread in threads:
        thread.join()


def load_and_kill(
    base_url: str, process: subprocess.Popen[bytes], queue: list[Submission], clients: int, kill_after: int
) -> LoadFigures:
    """Unit 1's browsers submit from the queue; the server is killed once `kill_after` were acknowledged."""
    figures = LoadFigures()

    def kill_mid_load() -> None:
        deadline = time.monotonic() + 120
        while len(figures.acknowledged) < kill_after and time.monotonic() < deadline:
            time.sleep(0.005)
        kill_hard(process)

    run_clients(base_url, UNIT_LOGIN, queue, clients, figures, kill_mid_load)
    return figures


def missing_acknowledged(session: Session, acknowledged: dict[int, str]) -> list[str]:
    """Acknowledged submissions not found as acknowledged: numbered with the key the answer named, at 待审核."""
    session.expire_all()
    missing = []
    for instance_id, business_key in acknowledged.items():
        instance = session.get(ProcessInstance, instance_id)
        found = (instance.business_key, instance.stage) if instance else None
        if found != (business_key, "待审核") or audit_count(session, instance_id, "complete", "fill") != 1:
            missing.append(f"{business_key}: found {found}")
    session.rollback()
    return missing


def fired_timers(session: Session) -> int:
    session.rollback()  # a fresh snapshot of what the workers committed
    return len(session.scalars(select(AuditEvent.id).where(AuditEvent.action == "timer")).all())


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.02)


def workers_killed_then_restarted(
    database_url: str, now_iso: str, expected: int, kill_after: int, log: Path, workers: int = 2
) -> int:
    """`workers` workers fire timers until `kill_after` fired, all are SIGKILLed, one restarts and fires the
    rest (plus a second to show any double). Returns how many had fired when they were killed."""
    running = [start_worker(database_url, now_iso, log) for _ in range(workers)]
    try:
        wait_for(lambda: fired_timers(db.session) >= kill_after, 120, "the workers to fire timers")
    finally:
        for worker in running:
            kill_hard(worker)
    fired_at_kill = fired_timers(db.session)
    restarted = start_worker(database_url, now_iso, log)
    try:
        wait_for(lambda: fired_timers(db.session) >= expected, 120, "the restarted worker")
        time.sleep(1)
    finally:
        kill_hard(restarted)
    return fired_at_kill


def timers_not_fired_once(session: Session, instance_ids: list[int]) -> int:
    session.expire_all()
    return sum(audit_count(session, instance_id, "timer") != 1 for instance_id in instance_ids)
