"""Previews for the studio's editors, rendered by the code the running procedures use.

A form previews through `app.taskforms.render.fields` (the wizard's renderer), a print template
through `services.documents`, a notification text through a sandbox like `services.notifications`.
They render against sample data: a demo unit, the context names, and a value for every field of
the procedure's forms. Names the sample does not have (results of earlier steps such as `domain`)
show as 〔name〕 and are listed, instead of failing the preview.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath
from typing import Any

from jinja2 import ChainableUndefined, meta
from jinja2.exceptions import TemplateError

from app.engine.bundles import FORMS_FOLDER
from app.engine.texts import TextError, TextSandbox, procedure_variables
from app.engine.texts import render as render_text
from app.services import documents
from app.services.document_pdf import TableLayout
from app.services.errors import ServiceRefusal
from app.services.numerals import chinese_numeral
from app.taskforms.render import FieldView, fields
from app.taskforms.schemas import FormLibrary, FormSchemaError

SAMPLE_UNIT = {
    "name": "鄂尔多斯市人民政府办公室",
    "uscc": "11150600MB1234567X",
    "unit_type": "党政机关",
    "nature": "机关",
    "affiliation": "市（地、州、盟）属",
    "region_code": "150602",
    "region": "内蒙古自治区鄂尔多斯市东胜区",
    "address": "鄂尔多斯市康巴什区市府大楼",
    "postcode": "017010",
    "leader": "王主任",
}
# A value for each of engine/context.py CONTEXT_NAMES, as the sample unit would have them.
SAMPLE_CONTEXT = {
    "unit_type": "党政机关",
    "unit_nature": "机关",
    "unit_affiliation": "市（地、州、盟）属",
    "unit_level": "city",
    "unit_region_code": "150602",
    "unit_province_code": "150000",
    "unit_province": "内蒙古自治区",
    "unit_city_code": "150600",
    "unit_city": "鄂尔多斯市",
    "application_domains": ["鄂尔多斯市人民政府.政务"],
    "application_suffix": "政务",
}
SAMPLE_BY_FORMAT = {
    "cn-domain": "鄂尔多斯市人民政府.政务",
    "cn-mobile": "13800138000",
    "email": "zhang@example.cn",
    "ipv4": "202.96.1.10",
    "hostname": "ordos.gov.cn",
    "uscc": SAMPLE_UNIT["uscc"],
    "date": "2026-09-28",
}
SAMPLE_KEY = "KB2026000001"


class _Shown(ChainableUndefined):
    """A name the sample lacks, shown where it stands."""

    def __str__(self) -> str:
        return f"〔{self._undefined_name}〕"


_TEXTS = TextSandbox(autoescape=False, undefined=_Shown)
_TEXTS.filters["cn"] = chinese_numeral


# ---- sample data --------------------------------------------------------------------------


def sample_application(files: Mapping[str, str]) -> dict[str, Any]:
    """A plausible value for every field of every readable form of the procedure."""
    data: dict[str, Any] = {}
    for path, text in sorted(files.items()):
        if not path.startswith(FORMS_FOLDER + "/"):
            continue
        try:
            properties = json.loads(text).get("properties", {})
        except (ValueError, AttributeError):
            continue
        for name, spec in properties.items() if isinstance(properties, dict) else ():
            if isinstance(spec, dict):
                data.setdefault(name, _sample_value(name, spec))
    return data


def _sample_value(name: str, spec: dict[str, Any]) -> Any:
    options = spec.get("oneOf") or []
    if options and isinstance(options[0], dict) and "const" in options[0]:
        return options[0]["const"]
    if spec.get("enum"):
        return spec["enum"][0]
    kind = spec.get("type")
    if kind == "array":
        return [_sample_value(name, spec.get("items") or {})]
    if kind in ("integer", "number"):
        return spec.get("default", spec.get("minimum", 1))
    if kind == "boolean":
        return True
    return SAMPLE_BY_FORMAT.get(str(spec.get("format")), f"（{spec.get('title') or name}）")


def _titles(files: Mapping[str, str], data: Mapping[str, Any]) -> dict[str, str]:
    """Titles of the chosen options, as the documents' `display` has them."""
    titles: dict[str, str] = {}
    library = FormLibrary({PurePosixPath(p).name: t for p, t in files.items() if p.startswith(FORMS_FOLDER + "/")})
    for form in library.sources:
        try:
            properties = library.schema(form).get("properties", {})
        except FormSchemaError:
            continue
        for field, spec in properties.items():
            for option in spec.get("oneOf", []) if isinstance(spec, dict) else []:
                if isinstance(option, dict) and option.get("const") == data.get(field):
                    titles.setdefault(field, str(option.get("title", option["const"])))
    return titles


# ---- forms -----------------------------------------------------------------------------------


def form_fields(file_name: str, text: str, procedure: Mapping[str, str]) -> tuple[dict[str, Any], list[FieldView]]:
    """The form as the unit's wizard draws it (schema, fields), its texts filled in as a deployed version
    fills them (procedure properties, fees); a Chinese refusal if it is not usable."""
    variables = procedure_variables(procedure, date.today())
    library = FormLibrary({file_name: text}).with_texts(lambda source: render_text(source, variables))
    try:
        schema = library.schema(file_name)
    except (FormSchemaError, TextError) as exc:
        raise ServiceRefusal(str(exc)) from exc
    properties = schema.get("properties", {})
    if not isinstance(properties, dict) or not all(isinstance(p, dict) for p in properties.values()):
        raise ServiceRefusal("表单的 properties 须为对象，每个字段也须为对象")
    try:
        return schema, fields(schema, None, None)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ServiceRefusal(f"表单无法显示：{exc}") from exc


# ---- print templates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentPreview:
    title: str
    copies: int
    letter: str | None = None
    table: TableLayout | None = None


def document_preview(path: str, text: str, files: Mapping[str, str], procedure: Mapping[str, str]) -> DocumentPreview:
    """A print template filled with the sample (what its PDF would say); a Chinese refusal if it is broken."""
    name, suffix = PurePosixPath(path).stem, PurePosixPath(path).suffix
    application = sample_application(files)
    context = {
        "business_key": SAMPLE_KEY,
        "procedure": dict(procedure),
        "procedure_name": "",
        "application": application,
        "display": _titles(files, application),
        "unit": SAMPLE_UNIT,
        "office": "鄂尔多斯市委机构编制委员会办公室",
        "today": documents.chinese_date(date.today()),
    }
    template = documents.parse(name, suffix, text)
    copies, content = documents.preview(template, context)
    if isinstance(content, str):
        return DocumentPreview(template.title, copies, letter=content)
    return DocumentPreview(template.title, copies, table=content)


# ---- notification texts --------------------------------------------------------------------------


@dataclass(frozen=True)
class TextPreview:
    text: str
    missing: list[str]  # names the sample has no value for


def text_preview(text: str, files: Mapping[str, str], procedure: Mapping[str, str]) -> TextPreview:
    """A notification text (Jinja over the application data) filled with the sample."""
    variables = {
        **sample_application(files),
        **SAMPLE_CONTEXT,
        **procedure_variables(procedure, date.today()),
        "business_key": SAMPLE_KEY,
    }
    try:
        parsed = _TEXTS.parse(text)
        rendered = _TEXTS.from_string(parsed).render(**variables)
    except TemplateError as exc:
        raise ServiceRefusal(f"通知文字有误：{exc}") from exc
    missing = sorted(meta.find_undeclared_variables(parsed) - set(variables))
    return TextPreview(rendered, missing)
