"""Child side of the script sandbox: runs diagram code under OS limits it cannot raise.

sandbox_pool.py starts this process with bare `app` packages (their __init__ modules would load
Flask, SQLAlchemy and SpiffWorkflow: 1.5 s and 70 MB a process), so it imports only RestrictedPython,
the calendar and what this module names. It warms up, measures its own address space, and sets
hard limits before it reads a request:

- RLIMIT_AS: the address space it has plus the memory budget; any allocation beyond the budget,
  a C-level one inside str.join or a format included, fails with MemoryError;
- RLIMIT_CPU: a lifetime hard limit, and before each request a soft limit one second above the
  request's time budget, so a worker whose parent is gone cannot spin;
- RLIMIT_NOFILE 3 (stdin, stdout, stderr: no new file or socket), RLIMIT_FSIZE 0, RLIMIT_NPROC 0
  (no fork, unless run as root), RLIMIT_CORE 0.

Protocol on stdin/stdout: frames of a 4-byte big-endian length and a JSON body. The worker sends
{"ready": true} once its limits are set; each request {"mode": "eval"|"exec", "source", "data",
"now", "workdays"?} then gets one reply: {"value"} for eval, {"variables", "deleted"} for exec,
or {"error": "limit"|"compile"|"runtime", "message"}; with "retire": true once the worker has
used most of its lifetime CPU.
"""

from __future__ import annotations

import contextlib
import math
import resource
import struct
import sys
import warnings
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import orjson

from app.engine.sandbox import (
    Limits,
    ScriptCompileError,
    ScriptLimitError,
    ScriptRuntimeError,
    compile_expression,
    compile_script,
    restricted_globals,
)
from app.services.calendar import BEIJING, WorkdayCalendar, add_years

HEADER = struct.Struct(">I")
JSON_OPTIONS = orjson.OPT_NON_STR_KEYS
# After this much CPU the parent replaces the worker; the hard limit lies one request above it.
_RETIRE_AFTER_CPU_SECONDS = 600
_OPEN_FILES = 3
_JSON_TYPES = (str, int, float, bool, type(None), list, dict)
_BREACHES: tuple[tuple[type[Exception], str], ...] = (
    (RecursionError, "脚本递归层数过多，已被终止"),
    (OverflowError, "脚本中的数值或长度超出上限，已被终止"),
)
# Calls every helper once, so lazy imports and caches are filled before the limits apply.
_WARM_UP = {
    "mode": "exec",
    "source": (
        "days = [add_workdays(today(), 3), add_years(now(), 1), start_of_day('2026-01-05'),"
        " end_of_day('2026-01-05'), format_date('2026-01-05'), yuan(1), f'{1:>3}', '%d' % 1]"
    ),
    "data": {},
    "now": "2026-01-05T09:00:00+08:00",
}


def _as_date(day: str | date) -> date:
    return day if isinstance(day, date) else date.fromisoformat(str(day)[:10])


def _at(day: str | date, moment: time) -> str:
    return datetime.combine(_as_date(day), moment, BEIJING).isoformat()


def _format_date(day: str | date) -> str:
    d = _as_date(day)
    return f"{d.year}年{d.month}月{d.day}日"


def build_helpers(now: datetime, workdays: WorkdayCalendar) -> dict[str, Callable[..., Any]]:
    """Pure helpers diagrams may call; `now` is the action's clock, `workdays` the admin calendar."""
    local_now = now.astimezone(BEIJING)
    return {
        "today": lambda: local_now.date().isoformat(),
        "now": lambda: local_now.isoformat(),
        "add_workdays": lambda day, n: workdays.add_workdays(_as_date(day), int(n)).day.isoformat(),
        "add_years": lambda day, n: add_years(_as_date(day), int(n)).isoformat(),
        "start_of_day": lambda day: _at(day, time(0, 0, 0)),
        "end_of_day": lambda day: _at(day, time(23, 59, 59)),
        "format_date": _format_date,
        "yuan": lambda amount: f"{float(amount):.2f} 元",
    }


HELPER_NAMES = frozenset(build_helpers(datetime.now(BEIJING), WorkdayCalendar.of({})))


def main(memory_mb: int, timeout_seconds: float) -> None:
    """Serve requests from stdin until it closes."""
    limits = Limits(timeout_seconds, memory_mb)
    warnings.simplefilter("ignore")  # RestrictedPython's compile warnings; the linter reports code problems
    _outcome(_WARM_UP)
    per_request = math.ceil(timeout_seconds) + 1
    lifetime = _RETIRE_AFTER_CPU_SECONDS + per_request
    _set_limits(memory_mb, lifetime)
    _send(orjson.dumps({"ready": True}))
    while (request := _receive()) is not None:
        soft = min(int(_cpu_seconds()) + per_request, lifetime)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, lifetime))
        _send(_reply(request, limits))


def _set_limits(memory_mb: int, cpu_seconds: int) -> None:
    address_space = _address_space() + memory_mb * 1024 * 1024
    for limit, value in (
        (resource.RLIMIT_AS, address_space),
        (resource.RLIMIT_CPU, cpu_seconds),
        (resource.RLIMIT_NOFILE, _OPEN_FILES),
        (resource.RLIMIT_FSIZE, 0),
        (resource.RLIMIT_NPROC, 0),
        (resource.RLIMIT_CORE, 0),
    ):
        resource.setrlimit(limit, (value, value))


def _address_space() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("/proc/self/status has no VmSize")


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _receive() -> dict[str, Any] | None:
    header = sys.stdin.buffer.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    return orjson.loads(sys.stdin.buffer.read(HEADER.unpack(header)[0]))


def _send(body: bytes) -> None:
    sys.stdout.buffer.write(HEADER.pack(len(body)))
    sys.stdout.buffer.write(body)
    sys.stdout.buffer.flush()


def _reply(request: dict[str, Any], limits: Limits) -> bytes:
    try:
        outcome = _outcome(request)
    except Exception as exc:  # whatever the code did, the parent gets an answer
        outcome = _failure(exc, limits)
    if _cpu_seconds() > _RETIRE_AFTER_CPU_SECONDS:
        outcome["retire"] = True
    return orjson.dumps(outcome)


def _outcome(request: dict[str, Any]) -> dict[str, Any]:
    overrides = {date.fromisoformat(day): flag for day, flag in request.get("workdays", {}).items()}
    helpers = build_helpers(datetime.fromisoformat(request["now"]), WorkdayCalendar.of(overrides))
    code_globals = restricted_globals(helpers)
    data = request["data"]
    scope = {**code_globals, **data}
    if request["mode"] == "eval":
        value = eval(compile_expression(request["source"]), scope)
        return {"value": _fragment(value, "表达式的值不能传回")}
    exec(compile_script(request["source"]), scope)
    variables = {
        name: _fragment(value, f"脚本变量 {name} 的值不能保存", _JSON_TYPES)
        for name, value in scope.items()
        if name not in code_globals and not name.startswith("_")
    }
    return {"variables": variables, "deleted": [name for name in data if name not in scope]}


def _fragment(value: Any, refusal: str, types: tuple[type, ...] = (object,)) -> orjson.Fragment:
    """The value as JSON, serialized here so a value that cannot be is named in the refusal."""
    if isinstance(value, types):
        with contextlib.suppress(orjson.JSONEncodeError):
            return orjson.Fragment(orjson.dumps(value, option=JSON_OPTIONS))
    raise ScriptRuntimeError(refusal)


def _failure(exc: Exception, limits: Limits) -> dict[str, Any]:
    if isinstance(exc, ScriptCompileError):
        return {"error": "compile", "message": str(exc)}
    if isinstance(exc, ScriptRuntimeError):
        return {"error": "runtime", "message": str(exc)}
    breach = _breach_message(exc, limits)
    if breach is not None:
        return {"error": "limit", "message": breach}
    return {"error": "runtime", "message": f"{type(exc).__name__}: {exc}"}


def _breach_message(exc: Exception, limits: Limits) -> str | None:
    if isinstance(exc, MemoryError):
        return limits.memory_exceeded()
    if isinstance(exc, ScriptLimitError):
        return str(exc)
    return next((message for kind, message in _BREACHES if isinstance(exc, kind)), None)
