"""Values of the process context (app/engine/context.py CONTEXT_NAMES) for one application.

Read once per engine action: the unit's type, 隶属关系 and region (with its province and city),
the domains the application concerns and the procedure's properties. Conditions, scripts, timer
expressions and texts of a diagram read them; they never enter the application's data. The runner
reads them in its locking read of the instance (`columns`, `from_columns`): no statements of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, String, cast, func, select
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
    return {**_unit_values(unit, domains, _region_names(session, unit.region_code, unit.level)), **fees}


def columns(instance_id: ColumnElement[int], region_code: ColumnElement[str]) -> tuple[ScalarSelect[Any], ...]:
    """What `values` reads besides the unit, as subqueries to select along with the instance and its unit.

    The domains come as one text of `id:name` lines, in no set order (`from_columns` sorts them by id); a
    domain name, validated on input, has no line break.
    """
    line = cast(Domain.id, String) + ":" + Domain.name
    domains = select(func.aggregate_strings(line, "\n")).where(Domain.instance_id == instance_id)
    province = select(Region.name).where(Region.code == func.substr(region_code, 1, 2) + "0000")
    city = select(Region.name).where(Region.code == func.substr(region_code, 1, 4) + "00")
    return domains.scalar_subquery(), province.scalar_subquery(), city.scalar_subquery()


def from_columns(
    unit: Unit, selected: tuple[str | None, ...], procedure: Mapping[str, str], today: date
) -> dict[str, Any]:
    """`values` from the unit and what `columns` selected."""
    domain_lines, province, city = selected
    numbered = (line.partition(":") for line in (domain_lines or "").split("\n") if line)
    domains = [name for _, _, name in sorted(numbered, key=lambda pair: int(pair[0]))]
    codes = _region_codes(unit.region_code, unit.level)
    regions = _region_values(codes, {codes[0]: province or "", codes[1]: city or ""})
    return {**_unit_values(unit, domains, regions), **procedure_values(procedure, today)}


def _unit_values(unit: Unit, domains: list[str], regions: dict[str, str]) -> dict[str, Any]:
    return {
        "unit_type": unit.unit_type,
        "unit_nature": unit.nature,
        "unit_affiliation": unit.affiliation,
        "unit_level": unit.level,
        "unit_region_code": unit.region_code,
        **regions,
        "application_domains": domains,
        "application_suffix": suffix_of(domains),
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


def _region_codes(region_code: str, level: str) -> tuple[str, str]:
    """The province's code and the city's ('' for a province-level unit)."""
    return region_code[:2] + "0000", region_code[:4] + "00" if level in ("city", "county") else ""


def _region_names(session: Session, region_code: str, level: str) -> dict[str, str]:
    codes = _region_codes(region_code, level)
    query = select(Region.code, Region.name).where(Region.code.in_(codes))
    return _region_values(codes, {code: name for code, name in session.execute(query)})


def _region_values(codes: tuple[str, str], names: Mapping[str, str]) -> dict[str, str]:
    province_code, city_code = codes
    return {
        "unit_province_code": province_code,
        "unit_province": names.get(province_code, ""),
        "unit_city_code": city_code,
        "unit_city": names.get(city_code, "") if city_code else "",
    }
