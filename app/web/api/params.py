"""Query parameters and request bodies of the API, read strictly: a value that does not parse is a 400 naming
the parameter (the pages quietly ignore such values; a program is better told)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l

from app.models.account import BIANBAN_ROLE
from app.services import domain_query, worklist
from app.web.api.errors import ApiError

SORTS = tuple(f"{sign}{key}" for key in worklist.SORT_COLUMNS for sign in ("", "-"))
MAX_TEXT = 100
DOMAIN_TEXT_MAX = 60
UNKNOWN_FIELD = _l("表单包含不允许的字段")


def bad(name: str, message: object) -> ApiError:
    return ApiError(400, "invalid_parameter", _l("参数 %(name)s 不正确", name=name), {name: str(message)})


def text(name: str, limit: int = MAX_TEXT) -> str:
    value = request.args.get(name, "").strip()
    if len(value) > limit:
        raise bad(name, _l("不能超过 %(limit)s 个字符", limit=limit))
    return value


def choice(name: str, allowed: tuple[str, ...]) -> str:
    value = request.args.get(name, "")
    if value and value not in allowed:
        raise bad(name, _l("须为以下之一：%(allowed)s", allowed="、".join(allowed)))
    return value


def day(name: str) -> date | None:
    value = request.args.get(name, "")
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise bad(name, _l("日期格式须为 YYYY-MM-DD")) from None


def number(name: str, default: int, low: int, high: int) -> int:
    value = request.args.get(name, "")
    if not value:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise bad(name, _l("须为 %(low)s 至 %(high)s 的整数", low=low, high=high))
    return int(value)


def flag(name: str) -> bool:
    return choice(name, ("true", "false")) == "true"


def region(name: str = "region") -> str:
    value = request.args.get(name, "")
    if value and not (value.isdigit() and len(value) == 6):
        raise bad(name, _l("须为6位行政区划代码"))
    return value


def page_and_size() -> tuple[int, int]:
    return number("page", 1, 1, 100_000), number("page_size", worklist.PAGE_SIZE, 1, worklist.MAX_PAGE_SIZE)


def inbox_filters() -> tuple[worklist.InboxFilters, str]:
    """The 待办 page's filters and sort."""
    filters = worklist.InboxFilters(
        procedure=text("procedure", 80),
        stage=text("stage", 40),
        region=region(),
        submitted_from=day("submitted_from"),
        submitted_to=day("submitted_to"),
        overdue=flag("overdue"),
        claimed=choice("claimed", worklist.CLAIM_FILTERS),
    )
    return filters, choice("sort", SORTS) or worklist.DEFAULT_SORT


def domain_filters(role: str) -> domain_query.DomainFilters:
    """到期域名查询's filters; the region narrows a 编办's list only (a unit has its own domains)."""
    wanted_region = region()
    return domain_query.DomainFilters(
        expires_from=day("expires_from"),
        expires_to=day("expires_to"),
        region=wanted_region if role == BIANBAN_ROLE else "",
        suffix=choice("suffix", domain_query.SUFFIXES),
        status=choice("status", domain_query.QUERY_STATUSES),
        text=text("q", DOMAIN_TEXT_MAX),
    )


# ---- bodies ----------------------------------------------------------------------------------


def body() -> dict[str, Any]:
    """The JSON object sent; anything else is a 400."""
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ApiError(400, "invalid_body", _l("请求体须为 JSON 对象（Content-Type: application/json）"))
    return payload


def form_data(payload: dict[str, Any], key: str, schema: dict[str, Any]) -> dict[str, Any]:
    """`payload[key]`, the fields of a form; one the form does not have is refused rather than dropped
    silently (the page's form cannot send one). The form's own rules are checked by the engine."""
    data = payload.get(key, {})
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", _l("%(key)s 须为 JSON 对象", key=key))
    unknown = [name for name in data if name not in schema.get("properties", {})]
    if unknown:
        raise ApiError(422, "validation_failed", UNKNOWN_FIELD, {name: str(UNKNOWN_FIELD) for name in unknown})
    return data


def optional_int(payload: dict[str, Any], key: str) -> int | None:
    value = payload.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise ApiError(400, "invalid_body", _l("%(key)s 须为整数", key=key))
    return value
