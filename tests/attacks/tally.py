"""Counts of attack cases tried and refused, for the summary tests/attacks/conftest.py prints.

Every case runs inside `attempt(attack_class, case)`: it counts as tried when it starts and as refused when
its block ends without an assertion failing. A case run on both databases counts once, and as refused only
if it was refused on each.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

_tried: dict[str, set[str]] = {}
_failed: dict[str, set[str]] = {}


@contextmanager
def attempt(attack_class: str, case: str) -> Iterator[None]:
    """One attack case: tried on entry, refused if the block ends without an exception."""
    _tried.setdefault(attack_class, set()).add(case)
    try:
        yield
    except BaseException:
        _failed.setdefault(attack_class, set()).add(case)
        raise


def counts() -> dict[str, tuple[int, int]]:
    """Attack class → (cases tried, cases refused) so far."""
    return {name: (len(cases), len(cases - _failed.get(name, set()))) for name, cases in sorted(_tried.items())}
