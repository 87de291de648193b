"""Diagram code runs in a sandbox: no imports, no underscore names, no str.format, bounded time and memory.

A script that misbehaves stops only the action that ran it: the instance is marked `error`
with the reason, keeps its last good state, and other applications go on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.engine import Engine
from app.engine.errors import TaskFailure
from app.engine.sandbox import (
    Budget,
    Limits,
    ScriptCompileError,
    ScriptLimitError,
    compile_expression,
    compile_script,
    restricted_globals,
)
from app.extensions import db
from tests.conftest import APPROVE, UNIT

SCRIPTED = (Path(__file__).parent / "diagrams" / "scripted.bpmn").read_text(encoding="utf-8")


def run(source: str, mode: str = "exec", seconds: float = 0.3, **data: Any) -> dict[str, Any]:
    scope = {**restricted_globals({}), **data}
    code = compile_script(source) if mode == "exec" else compile_expression(source)
    scope["__result__"] = Budget(Limits(timeout_seconds=seconds, max_memory_mb=32)).run(code, scope)
    return scope


@pytest.mark.parametrize("source", ["import os", "from subprocess import run", "x = y.__class__", "_secret = 1"])
def test_imports_and_underscore_names_do_not_compile(source: str) -> None:
    with pytest.raises(ScriptCompileError):
        compile_script(source)


def test_str_format_cannot_reach_attributes() -> None:
    with pytest.raises(NotImplementedError):
        run("x = '{0.__class__.__mro__}'.format(y)", y=1)


def test_builtins_outside_the_whitelist_are_missing() -> None:
    for source in (
        "x = open('/etc/passwd')",
        "x = __import__('os')",
        "x = globals()",
        "x = type(1)",
        "x = getattr(y, '__globals__')",
    ):
        with pytest.raises((NameError, ScriptCompileError)):
            run(source)


def test_an_endless_loop_is_stopped() -> None:
    with pytest.raises(ScriptLimitError, match="秒"):
        run("while True:\n    pass")


def test_unbounded_allocation_is_stopped() -> None:
    with pytest.raises(ScriptLimitError, match="MB"):  # a generous time limit: memory must stop it first
        run("x = []\nwhile True:\n    x.append('abcdefgh' * 1000)", seconds=30)


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
    scope = run("total = sum(years * 300 for years in terms)\nlabel = str(total) + ' 元'", terms=[1, 2])
    assert (scope["total"], scope["label"]) == (900, "900 元")
    assert run("decision == 'reject'", mode="eval", decision="reject")["__result__"] is True


def _deploy_script(engine: Engine, script: str) -> None:
    xml = SCRIPTED.replace("SCRIPT", script).encode("utf-8")
    engine.definitions.deploy(db.session, xml, "scripted.bpmn", "policy")
    db.session.commit()


def test_a_looping_script_marks_only_its_instance_as_error(engine: Engine, make_unit: Any, start: Any) -> None:
    engine.runner.limits = Limits(timeout_seconds=0.3, max_memory_mb=64)
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


def test_script_results_become_application_data(engine: Engine, make_unit: Any, start: Any) -> None:
    _deploy_script(engine, "summary = decision + ':' + str(len(decision))")
    application = start("scripted", make_unit()).complete(UNIT, APPROVE)
    assert application.stage == "已完成"
    assert application.data()["summary"] == "approve:7"
