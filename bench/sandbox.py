"""Cost of one evaluation of diagram code: fast path, worker round trip, and the old trace hook.

Usage: python bench/sandbox.py [--rounds 5000]

Measured in one run, as µs per evaluation:
- fast path: a bounded gateway condition evaluated in this process (sandbox.is_bounded);
- worker eval / exec: an expression with arithmetic and a small script, each a round trip to a
  worker process (request encoding, pipe, compile cache, run, reply decoding);
- trace hook eval / exec: the same code run here under the pre-worker mechanism, a sys.settrace
  hook checking time and RSS every 1000 lines, reproduced below for comparison only.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.engine.sandbox import Limits, compile_expression, compile_script, restricted_globals
from app.engine.sandbox_pool import Sandbox
from app.engine.sandbox_worker import build_helpers
from app.services.calendar import BEIJING, WorkdayCalendar

CONDITION = 'decision == "reject"'
EXPRESSION = "years * 300 + len(domains)"
SCRIPT = "total = sum(years * 300 for years in terms)\nlabel = str(total) + ' 元'"
DATA = {"decision": "approve", "years": 2, "domains": ["a.政务"], "terms": [1, 2], "reason": "", "unit": "测试单位"}
NOW = datetime(2026, 9, 30, 10, 0, tzinfo=BEIJING)


class TraceBudget:
    """The mechanism the worker replaced: a line-counting trace hook polling time and RSS."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._deadline = 0.0
        self._rss_limit = 0
        self._lines = 0

    def run(self, code: CodeType, scope: dict[str, Any]) -> Any:
        self._deadline = time.monotonic() + self.limits.timeout_seconds
        self._rss_limit = _rss_bytes() + self.limits.max_memory_mb * 1024 * 1024
        previous = sys.gettrace()
        sys.settrace(self._trace)
        try:
            return eval(code, scope)
        finally:
            sys.settrace(previous)

    def _trace(self, frame: FrameType, event: str, arg: object) -> Callable[..., Any] | None:
        if frame.f_code.co_filename != "<diagram>":
            return None
        self._lines += 1
        if self._lines % 1000 == 0 and (time.monotonic() > self._deadline or _rss_bytes() > self._rss_limit):
            raise RuntimeError("budget exceeded")
        return self._trace


def _rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096


def per_call(action: Callable[[], Any], rounds: int) -> float:
    action()  # a worker starts, caches fill
    started = time.perf_counter()
    for _ in range(rounds):
        action()
    return (time.perf_counter() - started) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5000)
    args = parser.parse_args()
    limits = Limits()
    sandbox = Sandbox(limits, NOW, dict)
    budget = TraceBudget(limits)
    in_process = restricted_globals(build_helpers(NOW, WorkdayCalendar.of({})))

    def traced(code: CodeType) -> Callable[[], Any]:
        return lambda: budget.run(code, {**in_process, **DATA})

    figures = {
        f"fast path          {CONDITION}": per_call(lambda: sandbox.evaluate(CONDITION, DATA), args.rounds),
        f"worker eval        {EXPRESSION}": per_call(lambda: sandbox.evaluate(EXPRESSION, DATA), args.rounds),
        "worker exec        (2-line script)": per_call(lambda: sandbox.execute(SCRIPT, DATA), args.rounds),
        f"trace hook eval    {EXPRESSION}": per_call(traced(compile_expression(EXPRESSION)), args.rounds),
        "trace hook exec    (2-line script)": per_call(traced(compile_script(SCRIPT)), args.rounds),
    }
    for label, micros in figures.items():
        print(f"  {label:<52} {micros:8.1f} µs/evaluation")


if __name__ == "__main__":
    main()
