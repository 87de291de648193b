"""Parent side of the script sandbox: diagram code runs in worker processes under hard OS limits.

A trace hook in the web process cannot see work done in C: `"".join(...)` of 10 GB or an f-string
a billion characters wide ran unchecked. So scripts and expressions run in a worker process
(sandbox_worker.py) whose memory and CPU are capped by the kernel; the parent waits for the
reply until a wall-clock deadline and SIGKILLs the worker when it passes. Every breach (memory,
recursion, overflow, a guard's refusal, the deadline, the worker dying) raises ScriptLimitError
with a Chinese message, and the worker is replaced by a fresh one on next use.

Bounded expressions (sandbox.is_bounded; most gateway conditions) skip the round trip and are
evaluated here. A worker is sent only the data the code names and, only when it calls
add_workdays, the admin calendar.

Pools are per Limits and per process. They are thread-safe (a lock-protected idle list; at most
`limits.workers` workers, callers beyond that wait for one), forgotten in a forked child (a
gunicorn worker must not share its parent's workers, pipes or locks), and killed at exit.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import CodeType
from typing import Any

import orjson

from app.engine.sandbox import (
    CodeFacts,
    Limits,
    ScriptCompileError,
    ScriptError,
    ScriptLimitError,
    ScriptRuntimeError,
    code_facts,
    compile_expression,
    compile_script,
    restricted_globals,
)
from app.engine.sandbox_worker import HEADER, HELPER_NAMES, JSON_OPTIONS

_APP_DIR = Path(__file__).resolve().parent.parent
_CHUNK = 64 * 1024
_START_SECONDS = 30.0  # generous: a worker starts in ~0.1 s, but a busy machine may be slow
# Registers bare packages for app, app.engine and app.services, then runs the worker: see
# sandbox_worker.py for why their __init__ modules are not imported.
_LAUNCH = """\
import os, sys, types
for name in ("app", "app.engine", "app.services"):
    package = types.ModuleType(name)
    package.__path__ = [os.path.join(sys.argv[1], *name.split(".")[1:])]
    sys.modules[name] = package
from app.engine.sandbox_worker import main
main(int(sys.argv[2]), float(sys.argv[3]))
"""
_FAST_GLOBALS = restricted_globals({})
# The one helper that needs data from the database: the admin calendar is sent only for it.
_CALENDAR_HELPER = "add_workdays"


@dataclass(frozen=True)
class ScriptResult:
    """What a script left: variables for the task data, and the data names it deleted."""

    variables: dict[str, Any]
    deleted: list[str]


class Sandbox:
    """Diagram code of one action: its clock, its limits, and the admin calendar on demand."""

    def __init__(self, limits: Limits, now: datetime, workdays: Callable[[], Mapping[date, bool]]) -> None:
        self.limits = limits
        self._now = now.isoformat()
        self._workdays = workdays

    def evaluate(self, expression: str, data: Mapping[str, Any]) -> Any:
        code = compile_expression(expression)
        facts = code_facts(expression, "eval")
        if facts.bounded and not facts.names & HELPER_NAMES:
            return _evaluate_here(code, _named(data, facts))
        return self._ask("eval", expression, data, facts)["value"]

    def execute(self, script: str, data: Mapping[str, Any]) -> ScriptResult:
        compile_script(script)  # a refusal needs no worker, and reads as at deploy time
        reply = self._ask("exec", script, data, code_facts(script, "exec"))
        return ScriptResult(reply["variables"], reply["deleted"])

    def _ask(self, mode: str, source: str, data: Mapping[str, Any], facts: CodeFacts) -> dict[str, Any]:
        request = {"mode": mode, "source": source, "data": _named(data, facts), "now": self._now}
        if _CALENDAR_HELPER in facts.names:
            request["workdays"] = self._workdays()
        try:
            body = orjson.dumps(request, option=JSON_OPTIONS)
        except orjson.JSONEncodeError as exc:
            raise ScriptRuntimeError(f"申请数据中有不能传给脚本的值：{exc}") from exc
        return pool_for(self.limits).ask(body)


def _named(data: Mapping[str, Any], facts: CodeFacts) -> dict[str, Any]:
    return {name: data[name] for name in facts.names if name in data}


def _evaluate_here(code: CodeType, data: dict[str, Any]) -> Any:
    try:
        return eval(code, {**_FAST_GLOBALS, **data})
    except Exception as exc:  # the same report as from a worker
        raise ScriptRuntimeError(f"{type(exc).__name__}: {exc}") from exc


class _NoReply(Exception):
    """The worker did not answer: it passed the deadline (timed_out) or closed its pipe."""

    def __init__(self, timed_out: bool) -> None:
        super().__init__()
        self.timed_out = timed_out


class _Worker:
    """One worker process and its pipes."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._max_reply = limits.max_memory_mb * 1024 * 1024  # no worker can build a larger one
        arguments = [str(_APP_DIR), str(limits.max_memory_mb), str(limits.timeout_seconds)]
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-c", _LAUNCH, *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            bufsize=0,
            start_new_session=True,  # a terminal's Ctrl-C is for the web process, which stops its workers
            env={},  # secrets such as DATABASE_URL stay out of reach of code that would escape
        )
        self._in, self._out = self.process.stdin.fileno(), self.process.stdout.fileno()  # type: ignore[union-attr]
        self._poll = select.poll()
        self._poll.register(self._out, select.POLLIN)
        try:
            self._receive(time.monotonic() + _START_SECONDS)
        except (_NoReply, orjson.JSONDecodeError) as exc:
            self.kill()
            raise ScriptError("脚本运行环境无法启动，请联系管理员") from exc

    def alive(self) -> bool:
        return self.process.poll() is None

    def ask(self, request: bytes) -> dict[str, Any]:
        """The worker's reply; ScriptLimitError when it passes the deadline or dies."""
        deadline = time.monotonic() + self.limits.timeout_seconds
        try:
            self._send(HEADER.pack(len(request)) + request)
            return self._receive(deadline)
        except _NoReply as exc:
            if exc.timed_out:
                raise ScriptLimitError(self.limits.time_exceeded()) from None
            raise ScriptLimitError(self._died()) from None
        except (BrokenPipeError, orjson.JSONDecodeError):
            raise ScriptLimitError(self._died()) from None

    def kill(self) -> None:
        # Its process group too, in case code escaped into a child. Only while unreaped: then
        # the pid cannot have been reused.
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.kill()
        self.process.wait()
        self.process.stdin.close()  # type: ignore[union-attr]
        self.process.stdout.close()  # type: ignore[union-attr]

    def _died(self) -> str:
        return f"脚本运行进程异常退出（内存上限 {self.limits.max_memory_mb} MB），已被终止"

    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self._in, view) :]

    def _receive(self, deadline: float) -> dict[str, Any]:
        frame = self._read_up_to(HEADER.size, bytearray(), deadline)
        (size,) = HEADER.unpack_from(frame)
        if size > self._max_reply:
            raise _NoReply(timed_out=False)
        frame = self._read_up_to(HEADER.size + size, frame, deadline)
        return orjson.loads(memoryview(frame)[HEADER.size :])

    def _read_up_to(self, size: int, buffer: bytearray, deadline: float) -> bytearray:
        """`buffer` grown to at least `size` bytes; reads in large chunks, as a reply is all the worker writes."""
        while len(buffer) < size:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._poll.poll(math.ceil(remaining * 1000)):
                raise _NoReply(timed_out=True)
            chunk = os.read(self._out, max(size - len(buffer), _CHUNK))
            if not chunk:
                raise _NoReply(timed_out=False)
            buffer += chunk
        return buffer


class _Pool:
    """Workers for one set of limits in this process."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._live: set[_Worker] = set()
        self._slots = threading.BoundedSemaphore(limits.workers)

    def ask(self, request: bytes) -> dict[str, Any]:
        with self._slots:
            worker = self._take()
            try:
                reply = worker.ask(request)
            except BaseException:
                self._discard(worker)
                raise
            if reply.get("error") == "limit" or reply.get("retire"):
                self._discard(worker)  # a breach may have left it short of memory; a retiree is done
            else:
                with self._lock:
                    self._idle.append(worker)
        return _result(reply)

    def stop(self) -> None:
        with self._lock:
            workers, self._live, self._idle = list(self._live), set(), []
        for worker in workers:
            worker.kill()

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
                self._live.discard(worker)  # killed from outside while idle, e.g. by the OOM killer
                worker.kill()
        worker = _Worker(self.limits)  # outside the lock: starting takes ~0.1 s
        with self._lock:
            self._live.add(worker)
        return worker

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._live.discard(worker)
        worker.kill()


def _result(reply: dict[str, Any]) -> dict[str, Any]:
    error = reply.get("error")
    if error == "limit":
        raise ScriptLimitError(reply["message"])
    if error == "compile":
        raise ScriptCompileError(reply["message"])
    if error is not None:
        raise ScriptRuntimeError(reply["message"])
    return reply


_pools: dict[Limits, _Pool] = {}
_pools_lock = threading.Lock()


def pool_for(limits: Limits) -> _Pool:
    with _pools_lock:
        if limits not in _pools:
            _pools[limits] = _Pool(limits)
        return _pools[limits]


def _forget_inherited_pools() -> None:
    """In a forked child: the parent's workers are not ours, and its lock may have been held."""
    global _pools, _pools_lock
    _pools, _pools_lock = {}, threading.Lock()


def _stop_all() -> None:
    for pool in list(_pools.values()):
        pool.stop()


os.register_at_fork(after_in_child=_forget_inherited_pools)
atexit.register(_stop_all)
