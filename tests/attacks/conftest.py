"""Attack tests: each module takes one class of attack and tries its cases against the app.

At the end of the run a summary section gives the cases tried and refused per class (tally.py), the
figure for the lead's note.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.attacks.tally import counts


def pytest_terminal_summary(terminalreporter: Any) -> None:
    by_class = counts()
    if not by_class:
        return
    terminalreporter.section("attack cases")
    for name, (tried, refused) in by_class.items():
        terminalreporter.write_line(f"{name}: {tried} tried, {refused} refused")
    tried, refused = (sum(column) for column in zip(*by_class.values(), strict=True))
    terminalreporter.write_line(f"attack cases: {tried} tried, {refused} refused")


@pytest.fixture
def policy_client(login: Any) -> Any:
    """The test client logged in as policy staff (the studio's role)."""
    return login("policy")
