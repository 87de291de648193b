"""Sandbox escapes in diagram code: scripts (scriptTask), conditions (gateways, timers) and their deploy.

Diagram code runs under RestrictedPython (app/engine/sandbox.py) in worker processes with OS limits
(sandbox_pool.py, sandbox_worker.py). Each class below is one family of escape; each case is code an
attacker with the studio would write, and it must end in ScriptCompileError, ScriptRuntimeError or
ScriptLimitError: refused at compile time, failing for want of the object it needs, or stopped by a limit.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest

from app.engine import Engine
from app.engine.errors import DeployError
from app.engine.sandbox import Limits, ScriptCompileError, ScriptError, ScriptLimitError
from app.engine.sandbox_pool import Sandbox, pool_for
from app.services.calendar import BEIJING
from tests.attacks.tally import attempt
from tests.conftest import DIAGRAMS, TESTS_ROOT, deploy_xml

ATTACK = "sandbox escape"
# RestrictedPython warns about the print case while compiling it; the refusal is what is tested.
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")
NOW = datetime(2026, 9, 30, 10, 0, tzinfo=BEIJING)
LIMITS = Limits(timeout_seconds=5.0, max_memory_mb=32, workers=1)
SHORT = Limits(timeout_seconds=0.3, max_memory_mb=32, workers=1)
DATA = {"y": 5, "d": {"k": "v"}}
REFUSED = (ScriptCompileError, ScriptError)  # ScriptError covers ScriptRuntimeError and ScriptLimitError

IMPORTS = {
    "import": "import os",
    "from-import": "from subprocess import run",
    "__import__": "x = __import__('os')",
    "importlib by name": "x = importlib.import_module('os')",
    "loader": "x = __loader__",
    "spec": "x = __spec__",
}
CLASS_CHAINS = {
    "subclasses of object": "x = ().__class__.__bases__[0].__subclasses__()",
    "mro of a value": "x = y.__class__.__mro__",
    "dict of a value": "x = d.__dict__",
    "helper globals": "x = today.__globals__",
    "builtin self": "x = len.__self__",
    "lambda code": "x = (lambda: 1).__code__",
    "reduce": "x = y.__reduce_ex__(2)",
    "class statement": "class A:\n    pass\nx = A.__subclasses__()",
    "type()": "x = type(y).__subclasses__",
    "object": "x = object.__subclasses__()",
    "getattr by string": "x = getattr(y, '__class__')",
    "fullwidth underscores": "x = y.\uff3f\uff3fclass\uff3f\uff3f",
    "subscript of a dunder": "x = d['__class__']",
}
FORMATTING = {
    "str.format": "x = '{0.__class__.__mro__}'.format(y)",
    "str.format_map": "x = '{a.__class__}'.format_map({'a': y})",
    "bound format kept": "f = '{0.__globals__}'.format\nx = f(today)",
    "format through the type": "x = str.format('{0.__class__}', y)",
    "format builtin": "x = format(y, '')",
    "string.Formatter": "x = string.Formatter().format('{0.__class__}', y)",
    "imported Formatter": "from string import Formatter\nx = Formatter().vformat('{0.__class__}', [y], {})",
}
FRAMES = {
    "gi_frame": "g = (i for i in [1])\nx = g.gi_frame",
    "f_globals": "g = (i for i in [1])\nx = g.gi_frame.f_globals",
    "f_back": "def f():\n    yield 1\nx = f().gi_frame.f_back",
    "f_builtins": "g = (i for i in [1])\nx = g.gi_frame.f_builtins",
    "gi_code": "g = (i for i in [1])\nx = g.gi_code",
    "gi_yieldfrom": "g = (i for i in [1])\nx = g.gi_yieldfrom",
    "coroutine cr_frame": "async def f():\n    pass\nx = f().cr_frame",
    "async generator ag_frame": "async def f():\n    yield 1\nx = f().ag_frame",
}
BUILTINS = {
    "__builtins__": "x = __builtins__['open']",
    "open": "x = open('/etc/passwd').read()",
    "eval": "x = eval('1')",
    "exec": "exec('x = 1')",
    "compile": "x = compile('1', 'a', 'eval')",
    "globals": "x = globals()",
    "locals": "x = locals()",
    "vars": "x = vars()",
    "dir": "x = dir()",
    "breakpoint": "breakpoint()",
    "print": "print(1)",
    "builtin through a helper": "x = isinstance.__self__",
}
EXCEPTIONS = {
    "__traceback__": "try:\n    x = 1 / 0\nexcept ZeroDivisionError as e:\n    x = e.__traceback__",
    "tb_frame": "try:\n    x = 1 / 0\nexcept ZeroDivisionError as e:\n    x = e.tb_frame",
    "__context__": "try:\n    x = 1 / 0\nexcept ZeroDivisionError as e:\n    x = e.__context__",
    "exception class by name": "try:\n    x = 1 / 0\nexcept BaseException as e:\n    x = e.args",
    "except*": "try:\n    x = 1 / 0\nexcept* ZeroDivisionError as group:\n    x = group.exceptions",
    "except* without a name": "try:\n    x = 1\nexcept* ValueError:\n    x = 2",
}
GUARD_SHADOWING = {
    "positional-only _getattr_": "def f(_getattr_, /):\n    return y.real\nx = f(1)",
    "positional-only lambda _getiter_": "f = lambda _getiter_, /: [i for i in _getiter_]",
    "keyword-only _write_": "def f(*, _write_=1):\n    return 1",
    "star-args _getattr_": "def f(*_getattr_):\n    return 1",
    "double-star _getitem_": "def f(**_getitem_):\n    return 1",
    "assignment to a guard": "_getattr_ = lambda o, n: o",
    "global guard": "global _getattr_\n_getattr_ = 1",
    "walrus guard": "x = (_getattr_ := 1)",
}
LOOPS = {
    "while True": "while True:\n    pass",
    "growing number": "x = 7\nwhile True:\n    x = x * x",
    "endless generator": "def f():\n    while True:\n        yield 1\nx = sum(f())",
    "helper made to count far": "x = add_workdays(today(), 10**8)",
}
ALLOCATIONS = {
    "string repetition": "x = 'a' * 10**9",
    "list repetition": "x = [0] * 10**9",
    "huge power": "x = 2 ** 10**9",
    "huge shift": "x = 1 << 10**9",
    "expandtabs": "x = '\\t'.expandtabs(10**9)",
    "ljust": "x = 'x'.ljust(10**9)",
    "f-string width": "x = f'{1:>1000000000}'",
    "%-format width": "x = '%1000000000d' % 1",
    "range": "x = list(range(10**9))",
    "dict comprehension": "x = {i: 'x' * 100000 for i in range(100000)}",
    "doubling in a loop": "x = 'ab'\nwhile True:\n    x = x + x",
    "deep recursion": "def f(k):\n    return f(k + 1)\nx = f(0)",
}
FAMILIES = {
    "imports": IMPORTS,
    "dunder and class chains": CLASS_CHAINS,
    "str.format and string.Formatter": FORMATTING,
    "generator and frame tricks": FRAMES,
    "builtins lookups": BUILTINS,
    "exception attributes and except*": EXCEPTIONS,
    "guard shadowing": GUARD_SHADOWING,
}
SCRIPT_CASES = [(family, name, source) for family, cases in FAMILIES.items() for name, source in cases.items()]
# Conditions are expressions: the one-line escapes of each family, evaluated as a gateway would.
CONDITIONS = {
    "class chain": "().__class__.__bases__[0].__subclasses__()",
    "value's class": "y.__class__",
    "str.format": "'{0.__class__}'.format(y)",
    "generator frame": "(i for i in [1]).gi_frame.f_globals",
    "__import__": "__import__('os').system('id')",
    "open": "open('/etc/passwd').read()",
    "getattr": "getattr(y, '__class__')",
    "huge string": "'a' * 10**9",
    "huge power": "9 ** 9 ** 9",
    "walrus on a guard": "(_getitem_ := 1)",
}


def _sandbox(limits: Limits = LIMITS) -> Sandbox:
    return Sandbox(limits, NOW, dict)


class TestEscapeFamilies:
    """Imports; dunder, class and subclass chains (also with fullwidth underscores); str.format and
    string.Formatter; generator, coroutine and frame attributes (gi_frame, f_globals, f_back); builtins
    lookups; exception attributes (__traceback__, tb_frame) and except*; guards shadowed by positional-only,
    keyword-only or star parameters, assignment, global or walrus. Every script is refused."""

    @pytest.mark.parametrize(("family", "name", "source"), SCRIPT_CASES, ids=[f"{f}: {n}" for f, n, _ in SCRIPT_CASES])
    def test_a_script_is_refused(self, family: str, name: str, source: str) -> None:
        with attempt(ATTACK, f"script, {family}: {name}"), pytest.raises(REFUSED):
            _sandbox().execute(source, DATA)

    @pytest.mark.parametrize("name", CONDITIONS)
    def test_a_condition_is_refused(self, name: str) -> None:
        with attempt(ATTACK, f"condition: {name}"), pytest.raises(REFUSED):
            _sandbox().evaluate(CONDITIONS[name], DATA)


class TestExhaustion:
    """Endless loops and huge allocations: each is stopped by a guard or an OS limit (time, memory,
    recursion) quickly, with a Chinese ScriptLimitError, and the next script runs normally."""

    @pytest.mark.parametrize("name", LOOPS)
    def test_an_endless_loop_is_stopped_at_the_deadline(self, name: str) -> None:
        with attempt(ATTACK, f"endless loop: {name}"):
            started = time.monotonic()
            with pytest.raises(ScriptLimitError, match="已被终止"):
                _sandbox(SHORT).execute(LOOPS[name], DATA)
            assert time.monotonic() - started < 2
            assert _sandbox(SHORT).execute("x = 1 + 1", {}).variables == {"x": 2}

    @pytest.mark.parametrize("name", ALLOCATIONS)
    def test_a_huge_allocation_is_stopped(self, name: str) -> None:
        with attempt(ATTACK, f"huge allocation: {name}"):
            with pytest.raises(ScriptLimitError, match="已被终止"):
                _sandbox().execute(ALLOCATIONS[name], DATA)
            assert _sandbox().execute("x = 1 + 1", {}).variables == {"x": 2}


class TestWhatAnEscapeWouldFind:
    """Defence in depth, should code ever get out of RestrictedPython: the worker process holds no
    environment (no DATABASE_URL, no SECRET_KEY) and cannot open a file or a socket."""

    def test_the_worker_has_no_environment_and_no_free_descriptors(self) -> None:
        with attempt(ATTACK, "worker environment and descriptors"):
            _sandbox().execute("x = 1", {})
            (worker,) = pool_for(LIMITS)._idle
            proc = Path(f"/proc/{worker.process.pid}")
            assert (proc / "environ").read_bytes() == b""
            assert "Max open files            3" in (proc / "limits").read_text()


SCRIPTED = (DIAGRAMS / "scripted.bpmn").read_text(encoding="utf-8")
DEPLOYED_ESCAPES = {
    "class chain": "x = ().__class__.__bases__[0].__subclasses__()",
    "import": "import os\nx = os.environ",
    "generator frame": "g = (i for i in [1])\nx = g.gi_frame.f_globals",
    "except*": "try:\n    x = 1\nexcept* ValueError:\n    x = 2",
    "guard shadowing": "def f(_getattr_, /):\n    return 1",
}


class TestDeployRefusesEscapes:
    """The same code in a diagram's scriptTask never reaches a running application: the deploy's code check
    refuses the diagram and names the element."""

    @pytest.mark.parametrize("name", DEPLOYED_ESCAPES)
    def test_the_deploy_refuses_the_script(self, name: str, engine: Engine) -> None:
        with attempt(ATTACK, f"deploy: {name}"), pytest.raises(DeployError) as refused:
            deploy_xml(
                engine, SCRIPTED.replace("SCRIPT", _xml_text(DEPLOYED_ESCAPES[name])), "scripted.bpmn", TESTS_ROOT
            )
        assert "compute" in [element for element, _ in refused.value.problems]


def _xml_text(source: str) -> str:
    return source.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
