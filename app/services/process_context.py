"""Values of the process context (app/engine/context.py CONTEXT_NAMES) for one application.

Read once per engine action: the unit's type, 隶属关系 and region (with its province and city),
the domains the application concerns and the procedure's properties. Conditions, scripts, timer
expressions and texts of a diagram read them; they never enter the application's data.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Domain, Region, Unit
from app.services import tariffs


def values(
    session: Session, unit_id: int, instance_id: int | None, procedure: Mapping[str, str], today: date
) -> dict[str, Any]:
    fees = procedure_values(procedure, today)
    unit = session.get(Unit, unit_id)
    if unit is None:
        return fees
    domains = _domains(session, instance_id)
    return {
        "unit_type": unit.unit_type,
        "unit_nature": unit.nature,
        "unit_affiliation": unit.affiliation,
        "unit_level": unit.level,
        "unit_region_code": unit.region_code,
        **_region_names(session, unit.region_code, unit.level),
        "application_domains": domains,
        "application_suffix": suffix_of(domains),
        **fees,
    }


def procedure_values(procedure: Mapping[str, str], today: date) -> dict[str, Any]:
    """The names that come from the version's properties and the day, not from the application."""
    return {"procedure": dict(procedure), "fee": tariffs.fees_on(procedure, today)}


def with_application_domains(names: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """Before a domain is recorded for the application, the domains its data binds (`domains`), names
    (`domain_name`) or describes (`domain`, e.g. the domain being renewed) count."""
    if names.get("application_domains"):
        return dict(names)
    bound, named, described = data.get("domains"), data.get("domain_name"), data.get("domain")
    domains = [str(d) for d in bound] if isinstance(bound, list) else []
    if not domains and isinstance(named, str):
        domains = [named]
    if not domains and isinstance(described, dict) and described.get("name"):
        domains = [str(described["name"])]
    return {**names, "application_domains": domains, "application_suffix": suffix_of(domains)}


def suffix_of(domains: list[str]) -> str:
    return domains[0].rpartition(".")[2] if domains else ""


def _domains(session: Session, instance_id: int | None) -> list[str]:
    if instance_id is None:
        return []
    query = select(Domain.name).where(Domain.instance_id == instance_id).order_by(Domain.id)
    return list(session.scalars(query))


def _region_names(session: Session, region_code: str, level: str) -> dict[str, str]:
    province_code = region_code[:2] + "0000"
    city_code = region_code[:4] + "00" if level in ("city", "county") else ""
    query = select(Region.code, Region.name).where(Region.code.in_([province_code, city_code]))
    names = {code: name for code, name in session.execute(query)}
    return {
        "unit_province_code": province_code,
        "unit_province": names.get(province_code, ""),
        "unit_city_code": city_code,
        "unit_city": names.get(city_code, "") if city_code else "",
    }
