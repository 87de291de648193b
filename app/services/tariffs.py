"""Fees as procedure data: the diagram's process property `tariffs` lists, per domain suffix, the fee
per year and the date it applies from. A charge keeps the fee it was created with.

    <spiffworkflow:property name="tariffs" value='[{"suffix": "政务", "yuanPerYear": 300, "from": "2014-03-01"}]'/>
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

PROPERTY = "tariffs"


class TariffError(ValueError):
    """The property does not describe fees; the message says how, in Chinese."""


@dataclass(frozen=True)
class Tariff:
    suffix: str
    yuan_per_year: int
    applies_from: date


def parse(properties: Mapping[str, str]) -> list[Tariff]:
    """The procedure's tariffs, oldest first; none when the property is absent."""
    raw = properties.get(PROPERTY, "").strip()
    if not raw:
        return []
    try:
        rows = json.loads(raw)
        tariffs = [Tariff(str(r["suffix"]), int(r["yuanPerYear"]), date.fromisoformat(str(r["from"]))) for r in rows]
    except (ValueError, KeyError, TypeError) as exc:
        raise TariffError(
            '收费标准 tariffs 须为 JSON 列表，如 [{"suffix": "政务", "yuanPerYear": 300, "from": "2014-03-01"}]'
        ) from exc
    if any(t.yuan_per_year <= 0 for t in tariffs):
        raise TariffError("收费标准须为正整数（元/年）")
    return sorted(tariffs, key=lambda t: t.applies_from)


def fees_on(properties: Mapping[str, str], day: date) -> dict[str, int]:
    """Suffix → fee per year in force on `day` (the latest tariff that applies from then or before)."""
    fees: dict[str, int] = {}
    for tariff in parse(properties):
        if tariff.applies_from <= day:
            fees[tariff.suffix] = tariff.yuan_per_year
    return fees


def next_change(properties: Mapping[str, str], day: date) -> date | None:
    """The first date after `day` on which a fee changes, if any (texts showing fees are redone then)."""
    later = [t.applies_from for t in parse(properties) if t.applies_from > day]
    return min(later) if later else None
