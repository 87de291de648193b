"""Diagram code runs in a sandbox: no imports, no underscore names, no str.format, and hard OS
limits on memory and time in a worker process that code running in it cannot raise.

A script that misbehaves stops only the action that ran it: the instance is marked `error`
with a Chinese reason, keeps its last good state, and other applications go on.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from app.engine import Engine, sandbox_pool
from app.engine.errors import TaskFailure
from app.engine.sandbox import (
    Limits,
    ScriptCompileError,
    ScriptLimitError,
    ScriptRuntimeError,
    code_facts,
    compile_script,
)
from app.engine.sandbox_pool import Sandbox, ScriptResult, pool_for
from app.services.calendar import BEIJING
from tests.conftest import APPROVE, TESTS_ROOT, UNIT, deploy_xml

SCRIPTED = (Path(__file__).parent / "diagrams" / "scripted.bpmn").read_text(encoding="utf-8")
NOW = datetime(2026, 9, 30, 10, 0, tzinfo=BEIJING)
# A small budget keeps breaches quick; the time limit is generous so memory, not time, stops them.
LIMITS = Limits(timeout_seconds=5.0, max_memory_mb=32, workers=1)
SHORT = Limits(timeout_seconds=0.3, max_memory_mb=32, workers=1)
BIG = 10**9
JOIN = 's = "x" * 100000\nbig = "".join([s for _ in range(100000)])'


def sandbox(limits: Limits = LIMITS, workdays: Callable[[], Mapping[date, bool]] = dict) -> Sandbox:
    return Sandbox(limits, NOW, workdays)


def run(source: str, limits: Limits = LIMITS, **data: Any) -> ScriptResult:
    return sandbox(limits).execute(source, data)


def value(expression: str, **data: Any) -> Any:
    return sandbox().evaluate(expression, data)


# ---- compile-time refusals and the restricted language ----------------------------------


@pytest.mark.parametrize("source", ["import os", "from subprocess import run", "x = y.__class__", "_secret = 1"])
def test_imports_and_underscore_names_do_not_compile(source: str) -> None:
    with pytest.raises(ScriptCompileError):
        compile_script(source)
    with pytest.raises(ScriptCompileError):
        run(source)


def test_str_format_cannot_reach_attributes() -> None:
    with pytest.raises(ScriptRuntimeError, match="NotImplementedError"):
        run("x = '{0.__class__.__mro__}'.format(y)", y=1)


def test_builtins_outside_the_whitelist_are_missing() -> None:
    for source in (
        "x = open('/etc/passwd')",
        "x = __import__('os')",
        "x = globals()",
        "x = type(1)",
        "x = getattr(y, '__globals__')",
    ):
        with pytest.raises((ScriptRuntimeError, ScriptCompileError)):
            run(source)


@pytest.mark.parametrize(
    "source",
    [
        "x = 'a' * 10**9",
        "x = [0] * 10**9",
        "x = 2 ** 10**9",
        "x = list(range(10**9))",
        "x = 'ab'\nfor i in range(40):\n    x += x",
    ],
)
def test_single_huge_values_are_refused_before_they_are_built(source: str) -> None:
    with pytest.raises(ScriptLimitError):
        run(source)


def test_ordinary_code_reads_and_writes_application_data() -> None:
    result = run("total = sum(years * 300 for years in terms)\nlabel = str(total) + ' 元'", terms=[1, 2])
    assert result.variables == {"terms": [1, 2], "total": 900, "label": "900 元"}
    assert value("decision == 'reject'", decision="reject") is True


def test_a_script_gets_and_returns_only_the_data_it_names() -> None:
    result = run("total = a + 1\ndel b", a=1, b=2, untouched=3)
    assert (result.variables, result.deleted) == ({"a": 1, "total": 2}, ["b"])


def test_a_variable_that_cannot_be_saved_is_named() -> None:
    with pytest.raises(ScriptRuntimeError, match="脚本变量 tags 的值不能保存"):
        run("tags = {'a', 'b'}")


# ---- hard limits: every way to build a large value ends as ScriptLimitError quickly ------

ALLOCATIONS = {
    "join over a comprehension": JOIN,
    "join of a repeated list": 's = "x" * 100000\nbig = "".join([s] * 100000)',
    "doubling in an f-string": 'x = "x"\nwhile True:\n    x = f"{x}{x}"',
    "doubling by %-formatting": 'x = "x"\nwhile True:\n    x = "%s%s" % (x, x)',
    "doubling by join": 'x = "x"\nwhile True:\n    x = "".join([x, x])',
    "f-string width": 'x = f"{1:>{n}}"',
    "%-format width": 'x = "%*d" % (n, 1)',
    "ljust": 'x = "x".ljust(n)',
    "center": 'x = "x".center(n)',
    "zfill": 'x = "1".zfill(n)',
    "replace": 's = "x" * 100000\nx = s.replace("x", s)',
    "expandtabs": 'x = "\\t".expandtabs(n)',
    "nested comprehensions": "x = [[i for i in range(100000)] for j in range(100000)]",
    "multiplication in a comprehension": 's = "x" * 100000\nx = [s * 1 for _ in range(100000)]',
    "dict comprehension": 'x = {i: "x" * 100000 for i in range(100000)}',
    "repetition of a repeated list": "row = [0] * 100000\nx = sum([row] * 100000, [])",
    "list of a huge string": 'x = list("x".ljust(10000000))',
    "sorted of a huge string": 'x = sorted("x".ljust(10000000))',
    "str of a repeated list": 'x = str(["x" * 100000] * 100000)',
    "appending forever": "x = []\nwhile True:\n    x.append('abcdefgh' * 1000)",
    "recursion through a lambda": "f = lambda k: f(k + 1)\nx = f(0)",
    "recursion through a function": "def f(k):\n    return f(k + 1)\nx = f(0)",
}


@pytest.mark.parametrize("source", ALLOCATIONS.values(), ids=ALLOCATIONS.keys())
def test_allocation_ends_as_a_limit_error_with_a_chinese_message(source: str) -> None:
    started = time.monotonic()
    with pytest.raises(ScriptLimitError) as caught:
        run(source, n=BIG)
    assert time.monotonic() - started < 4  # memory (or recursion) stops it, not the 5 s time limit
    assert re.search(r"[\u4e00-\u9fff]", str(caught.value))
    assert not re.search(r"[A-Za-z]+Error", str(caught.value))


def test_a_memory_breach_names_the_budget() -> None:
    with pytest.raises(ScriptLimitError, match="脚本占用内存超过 32 MB，已被终止"):
        run(JOIN)


def test_an_expression_is_held_to_the_same_limits() -> None:
    with pytest.raises(ScriptLimitError, match="32 MB"):
        sandbox().evaluate('"".join([s] * 100000)', {"s": "x" * 100000})


@pytest.mark.parametrize(
    "source",
    [
        "while True:\n    pass",
        "x = 7\nwhile True:\n    x = x * x",  # squaring a number of millions of digits takes long
        "x = add_workdays(today(), 10**8)",  # helpers run under the limits too
    ],
)
def test_code_running_long_is_stopped_at_the_deadline(source: str) -> None:
    started = time.monotonic()
    with pytest.raises(ScriptLimitError, match=r"^脚本运行超过 0\.3 秒，已被终止$"):
        run(source, SHORT)
    assert time.monotonic() - started < 1.5


def test_the_sandbox_recovers_after_each_kind_of_breach() -> None:
    breaches = ((JOIN, LIMITS), ("while True:\n    pass", SHORT), ("f = lambda k: f(k + 1)\nx = f(0)", LIMITS))
    for source, limits in breaches:
        with pytest.raises(ScriptLimitError):
            run(source, limits)
        assert run("x = 1 + 1", limits).variables == {"x": 2}


def test_the_worker_runs_under_os_limits() -> None:
    run("x = 1")
    (worker,) = pool_for(LIMITS)._idle
    limits = Path(f"/proc/{worker.process.pid}/limits").read_text()

    def hard(name: str) -> str:
        return re.search(rf"^{name}\s+\S+\s+(\S+)", limits, re.MULTILINE).group(1)  # type: ignore[union-attr]

    assert int(hard("Max address space")) < 200 * 1024 * 1024
    assert (hard("Max file size"), hard("Max open files"), hard("Max processes")) == ("0", "3", "0")
    assert hard("Max cpu time") != "unlimited"


def test_a_worker_dying_during_a_request_is_a_limit_breach() -> None:
    limits = Limits(timeout_seconds=30.0, max_memory_mb=32, workers=1)
    with ThreadPoolExecutor(1) as threads:
        pending = threads.submit(run, "while True:\n    pass", limits)
        while not pool_for(limits)._live:
            time.sleep(0.01)
        (worker,) = pool_for(limits)._live
        os.kill(worker.process.pid, signal.SIGKILL)  # as the kernel would on a fault
        with pytest.raises(ScriptLimitError, match="脚本运行进程异常退出（内存上限 32 MB），已被终止"):
            pending.result(timeout=10)


def test_a_worker_gone_while_idle_is_replaced_without_a_breach() -> None:
    limits = Limits(timeout_seconds=2.5, max_memory_mb=32, workers=1)
    run("x = 1", limits)
    (worker,) = pool_for(limits)._idle
    os.kill(worker.process.pid, signal.SIGKILL)
    while Path(f"/proc/{worker.process.pid}/stat").read_text().split()[2] != "Z":
        time.sleep(0.01)
    assert run("x = 2", limits).variables == {"x": 2}


def test_threads_share_a_bounded_number_of_workers() -> None:
    limits = Limits(timeout_seconds=5.0, max_memory_mb=32, workers=2)
    with ThreadPoolExecutor(6) as threads:
        doubled = list(threads.map(lambda k: sandbox(limits).evaluate("k * 2", {"k": k}), range(60)))
    assert doubled == [k * 2 for k in range(60)]
    assert 1 <= len(pool_for(limits)._live) <= 2


def test_a_forked_process_starts_workers_of_its_own() -> None:
    run("x = 1")  # this process has a worker, which a gunicorn worker forked now must not share
    child = os.fork()
    if child == 0:
        ok = False
        try:
            ok = not sandbox_pool._pools and run("x = 2").variables == {"x": 2}
        finally:
            os._exit(0 if ok else 1)
    assert os.waitpid(child, 0)[1] == 0
    assert run("x = 3").variables == {"x": 3}


def test_workers_end_with_the_process_that_started_them() -> None:
    # A daemon thread keeps a worker busy for a minute; only the exit handler can stop it early.
    program = """
import sys, threading, time
from datetime import datetime, UTC
from app.engine.sandbox import Limits
from app.engine.sandbox_pool import Sandbox, pool_for
limits = Limits(60.0, 32, 1)
sandbox = Sandbox(limits, datetime.now(UTC), dict)
threading.Thread(target=sandbox.execute, args=("while True:\\n    pass", {}), daemon=True).start()
while not pool_for(limits)._live:
    time.sleep(0.01)
print(next(iter(pool_for(limits)._live)).process.pid)
"""
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", program], cwd=root, capture_output=True, text=True, check=True)
    assert not Path(f"/proc/{int(done.stdout)}").exists()


# ---- the fast path: bounded expressions need no worker -----------------------------------


@pytest.mark.parametrize(
    ("expression", "bounded"),
    [
        ('decision == "reject"', True),
        ('a and not b or c["k"] in ("x", "y")', True),
        ('host_url if host_mode == "url" else ""', True),
        ("-n < 3", True),
        ('badge["certificate_id"]', True),
        ("len(x) > 0", False),
        ("a + b", False),
        ("[i for i in x]", False),
        ('f"{x}"', False),
        ("x.y", False),
        ("x[k]", False),
        ("x[1:2]", False),
        ("[a, b]", False),
        ("~n", False),
        ("'" + "x" * 20_000 + "' == s", False),
    ],
)
def test_only_provably_bounded_expressions_take_the_fast_path(expression: str, bounded: bool) -> None:
    assert code_facts(expression, "eval").bounded is bounded


def test_bounded_expressions_start_no_worker() -> None:
    limits = Limits(timeout_seconds=1.5, max_memory_mb=32, workers=1)
    assert sandbox(limits).evaluate('d["k"] == "v" and n > 1', {"d": {"k": "v"}, "n": 2}) is True
    assert not pool_for(limits)._live


@pytest.mark.parametrize("expression", ['d["k"] in ("v", "w")', "-n", 'a if n else "no"', "missing == 1", 'd["x"]'])
def test_the_fast_path_and_a_worker_agree(expression: str) -> None:
    data = {"d": {"k": "v"}, "n": 0, "a": "yes"}
    # `[e][0]` holds a list of a non-constant, so it goes to a worker.
    outcomes = []
    for source in (expression, f"[{expression}][0]"):
        try:
            outcomes.append(sandbox().evaluate(source, data))
        except ScriptRuntimeError as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1]


# ---- helpers in the worker ---------------------------------------------------------------


def test_helpers_work_in_the_worker() -> None:
    assert value("[add_years('2024-02-29', 1), format_date(today()), yuan(12), end_of_day('2026-10-01')]") == [
        "2025-02-28",
        "2026年9月30日",
        "12.00 元",
        "2026-10-01T23:59:59+08:00",
    ]
    assert value("add_workdays('2026-09-30', 5)") == "2026-10-13"


def test_the_admin_calendar_is_sent_only_to_code_that_counts_workdays() -> None:
    loads: list[int] = []

    def workdays() -> dict[date, bool]:
        loads.append(1)
        return {date(2026, 11, 20): False}

    assert sandbox(workdays=workdays).evaluate("format_date(today())", {}) == "2026年9月30日"
    assert not loads
    assert sandbox(workdays=workdays).evaluate("add_workdays('2026-11-19', 1)", {}) == "2026-11-23"
    assert loads == [1]


# ---- through the engine ------------------------------------------------------------------


def _deploy_script(engine: Engine, script: str) -> None:
    xml = SCRIPTED.replace("SCRIPT", script).encode("utf-8")
    deploy_xml(engine, xml, "scripted.bpmn", TESTS_ROOT)


def test_a_looping_script_marks_only_its_instance_as_error(
    engine: Engine, make_unit: Any, start: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine.runner, "limits", SHORT)
    _deploy_script(engine, "n = 0\nwhile True:\n    n = n + 1")
    stuck, healthy = start("scripted", make_unit()), start("scripted", make_unit())
    version_before = stuck.instance.version

    with pytest.raises(TaskFailure, match=r"超过 0\.3 秒"):
        stuck.complete(UNIT, APPROVE)

    instance = stuck.instance
    assert (instance.status, instance.stage) == ("error", "填写中")
    assert "compute" in instance.error and instance.failed_action["kind"] == "complete"
    assert instance.version == version_before + 1  # only the error mark was written
    assert stuck.task().task_name == "decide"  # the unit's task is still open, nothing lost
    assert (healthy.instance.status, healthy.task().task_name) == ("running", "decide")


def test_a_script_allocating_far_over_the_limit_ends_in_error_and_others_go_on(
    engine: Engine, make_unit: Any, start: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine.runner, "limits", LIMITS)
    _deploy_script(engine, JOIN)
    greedy, waiting = start("scripted", make_unit()), start("scripted", make_unit())

    with pytest.raises(TaskFailure):
        greedy.complete(UNIT, APPROVE)

    error = greedy.instance.error
    assert greedy.instance.status == "error"
    assert "脚本占用内存超过 32 MB，已被终止" in error
    assert not re.search(r"Traceback|[A-Za-z]+Error", error)
    assert (waiting.instance.status, waiting.task().task_name) == ("running", "decide")
    _deploy_script(engine, "summary = decision + ':' + str(len(decision))")
    assert start("scripted", make_unit()).complete(UNIT, APPROVE).data()["summary"] == "approve:7"


def test_script_results_become_application_data(engine: Engine, make_unit: Any, start: Any) -> None:
    _deploy_script(engine, "summary = decision + ':' + str(len(decision))")
    application = start("scripted", make_unit()).complete(UNIT, APPROVE)
    assert application.stage == "已完成"
    assert application.data()["summary"] == "approve:7"
