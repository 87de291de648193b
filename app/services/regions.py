"""GB/T 2260 divisions: loading the shipped table, the province → city → county cascade."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.models import Region

REGIONS_CSV = Path(__file__).resolve().parent.parent / "data" / "regions.csv"


def load(session: Session, path: Path = REGIONS_CSV) -> int:
    """Replace the region table with the shipped snapshot; returns the number of divisions."""
    with path.open(encoding="utf-8") as handle:
        rows = [
            {"code": r["code"], "name": r["name"], "level": r["level"], "parent_code": r["parent_code"] or None}
            for r in csv.DictReader(handle)
        ]
    session.execute(delete(Region))
    session.execute(Region.__table__.insert(), rows)
    session.flush()
    return len(rows)


def children(session: Session, parent_code: str | None) -> list[Region]:
    query = select(Region).where(Region.parent_code == parent_code if parent_code else Region.level == "province")
    return list(session.scalars(query.order_by(Region.code)))


def get(session: Session, code: str) -> Region | None:
    return session.get(Region, code)


def full_name(session: Session, code: str) -> str:
    """e.g. 内蒙古自治区 鄂尔多斯市 东胜区."""
    names: list[str] = []
    region = session.get(Region, code)
    while region is not None:
        names.insert(0, region.name)
        region = session.get(Region, region.parent_code) if region.parent_code else None
    return " ".join(names)


def filter_choices(session: Session, office_region: str | None) -> list[Region]:
    """The regions a reviewer may narrow a list to: a national office its provinces; a regional office its own
    region and the divisions one level below it (a county office only itself)."""
    if office_region is None:
        return children(session, None)
    own = session.get(Region, office_region)
    return [own, *children(session, office_region)] if own else []
