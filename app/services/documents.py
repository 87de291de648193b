"""The printed documents of a procedure (申请函, 申请表), generated from data templates in its version.

Templates are files policy staff edit without code (format: documents/README.md): a letter is
`<name>.md` (front matter + Jinja text), a table form is `<name>.json` (rows of label/value cells
holding Jinja). The diagram names its documents (process property `printDocuments`) and they are
deployed with it, so an application prints the templates of the version it runs on. They render
in a Jinja sandbox over the application data, the Unit row and the procedure's properties. When
documents may be printed is a diagram rule: the process property `documentsAvailableAfter` names
an element that must be among the instance's completed elements.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from jinja2 import ChainableUndefined
from jinja2.exceptions import TemplateError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine import get_engine
from app.engine.bundles import DOCUMENTS_PROPERTY
from app.engine.definitions import CompiledDefinition
from app.engine.texts import TextSandbox
from app.models import Office, ProcessInstance, Unit
from app.services import audit, document_pdf, jurisdiction, regions
from app.services.audit import Actor
from app.services.calendar import to_beijing_date
from app.services.errors import ServiceRefusal
from app.services.numerals import chinese_numeral

AVAILABLE_AFTER = "documentsAvailableAfter"  # process property: element id after which documents print
MAX_COPIES = 10
_JINJA = TextSandbox(autoescape=False, undefined=ChainableUndefined, trim_blocks=True, lstrip_blocks=True)
_JINJA.filters["cn"] = chinese_numeral


class DocumentUnavailable(ServiceRefusal):
    """No such document for this application, or not yet: the page answers 404 with the reason."""


class DocumentError(ServiceRefusal):
    """The server cannot produce the PDF: a broken template or no Chinese font."""


@dataclass(frozen=True)
class DocumentTemplate:
    """A loaded template: a letter (`letter` text) or a table form (`table` layout)."""

    name: str
    title: str
    copies: str
    letter: str | None = None
    table: dict[str, Any] | None = None


@dataclass(frozen=True)
class Rendered:
    title: str
    file_name: str
    content: bytes


# ---- templates --------------------------------------------------------------------------


def load(compiled: CompiledDefinition, name: str) -> DocumentTemplate:
    """The version's template `name`; unknown names are unavailable, broken files errors."""
    if name not in compiled.documents:
        raise DocumentUnavailable("没有该文书")
    suffix, text = compiled.documents[name]
    return parse(name, suffix, text)


def parse(name: str, suffix: str, text: str) -> DocumentTemplate:
    """A template from its text: a letter (.md) or a table form (.json)."""
    return _parse_letter(name, text) if suffix == ".md" else _parse_table(name, text)


def templates_for(compiled: CompiledDefinition) -> list[DocumentTemplate]:
    """The templates the diagram names (`printDocuments`) in its order; versions deployed before that
    property existed carry exactly the templates that named their procedure, in name order."""
    listed = compiled.process_properties.get(DOCUMENTS_PROPERTY)
    names = [n.strip() for n in listed.split(",") if n.strip()] if listed else sorted(compiled.documents)
    return [load(compiled, n) for n in names]


def _parse_letter(name: str, text: str) -> DocumentTemplate:
    text = text.replace("\r\n", "\n")
    head, separator, body = text.removeprefix("---\n").partition("\n---\n")
    if not text.startswith("---\n") or not separator:
        raise DocumentError(f"文书模板 {name}.md 须以 --- 包围的属性块（title、procedures、copies）开头")
    meta = {}
    for line in head.splitlines():
        key, colon, value = line.partition(":")
        if colon:
            meta[key.strip()] = value.strip()
    return DocumentTemplate(name, *_common(f"{name}.md", meta), letter=body)


def _parse_table(name: str, text: str) -> DocumentTemplate:
    try:
        layout = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"文书模板 {name}.json 不是有效的 JSON：第{exc.lineno}行 {exc.msg}") from exc
    if not isinstance(layout, dict):
        raise DocumentError(f"文书模板 {name}.json 须为一个 JSON 对象")
    _check_table(f"{name}.json", layout)
    return DocumentTemplate(name, *_common(f"{name}.json", layout), table=layout)


def _common(where: str, meta: dict[str, Any]) -> tuple[str, str]:
    title = meta.get("title")
    if not title:
        raise DocumentError(f"文书模板 {where} 缺少 title（文书名称）")
    return str(title), str(meta.get("copies") or "1")


def _check_table(where: str, layout: dict[str, Any]) -> None:
    columns = layout.get("columns")
    if not isinstance(columns, list) or not columns or not all(isinstance(c, int | float) and c > 0 for c in columns):
        raise DocumentError(f"文书模板 {where} 的 columns 须为正数列表（各列宽度比例）")
    for number, row in enumerate(layout.get("rows") or [], start=1):
        cells = row.get("cells") if isinstance(row, dict) else None
        if isinstance(row, dict) and "section" in row:
            continue
        if not isinstance(cells, list) or not 0 < len(cells) <= len(columns):
            raise DocumentError(f"文书模板 {where} 第{number}行须有 section，或 1-{len(columns)} 个 cells")


def template_problems(compiled: CompiledDefinition, session: Session) -> list[tuple[str, str]]:
    """Deploy check: every print template of the version parses and renders (over empty data)."""
    problems = []
    sample = {"unit": {"name": ""}, "business_key": "", "procedure": dict(compiled.process_properties)}
    for name in compiled.documents:
        try:
            template = load(compiled, name)
            if template.letter is not None:
                _render(template.letter, sample, name)
            else:
                _table_layout(template, sample)
        except DocumentError as refused:
            problems.append((compiled.process_id, refused.message))
    return problems


# ---- availability, rendering, download -----------------------------------------------------


def unavailable_reason(compiled: CompiledDefinition, done: list[str], template: DocumentTemplate) -> str | None:
    """Why the document cannot be printed for this instance now, or None when it can."""
    after = compiled.process_properties.get(AVAILABLE_AFTER)
    if not after or template.name not in compiled.documents:
        return f"“{compiled.name}”不需要打印《{template.title}》"
    if after not in done:
        return f"“{compiled.names.get(after, after)}”后方可打印《{template.title}》"
    return None


def offered(session: Session, instance: ProcessInstance) -> list[DocumentTemplate]:
    """The documents the application may print now (for the buttons on its page)."""
    engine = get_engine()
    compiled = engine.definitions.compiled_by_id(session, instance.definition_id)
    if not compiled.process_properties.get(AVAILABLE_AFTER):
        return []
    done, _current = engine.reader.progress(instance.id)
    return [t for t in templates_for(compiled) if unavailable_reason(compiled, done, t) is None]


def render(session: Session, instance: ProcessInstance, name: str, now: datetime | None = None) -> Rendered:
    """The PDF of document `name` for the application, if the procedure says it may be printed now."""
    engine = get_engine()
    compiled = engine.definitions.compiled_by_id(session, instance.definition_id)
    template = load(compiled, name)
    done, _current = engine.reader.progress(instance.id)
    reason = unavailable_reason(compiled, done, template)
    if reason:
        raise DocumentUnavailable(reason)
    context = _context(session, instance, compiled, engine.reader.data(instance.id))
    context["today"] = chinese_date(to_beijing_date(now or engine.runner.clock()))
    return Rendered(template.title, f"{instance.business_key}-{template.title}.pdf", _pdf(template, context))


def download(session: Session, instance: ProcessInstance, name: str, actor: Actor) -> Rendered:
    """Render and record the download in the audit trail (flushed, committed by the caller)."""
    rendered = render(session, instance, name)
    audit.record(session, actor, "download", instance.id, detail={"document": name, "title": rendered.title})
    return rendered


def preview(template: DocumentTemplate, context: dict[str, Any]) -> tuple[int, str | document_pdf.TableLayout]:
    """What the PDF would say for `context` (the studio's preview): the copies, and a letter's text or a
    table form's rendered layout."""
    if template.letter is not None:
        return _copies(template, context), _render(template.letter, context, template.name)
    return _copies(template, context), _table_layout(template, context)


def _pdf(template: DocumentTemplate, context: dict[str, Any]) -> bytes:
    copies = _copies(template, context)
    meta = document_pdf.Meta(template.title, context["unit"]["name"], f"申请编号：{context['business_key']}")
    try:
        if template.letter is not None:
            return document_pdf.letter_pdf(meta, _render(template.letter, context, template.name), copies)
        return document_pdf.table_pdf(meta, _table_layout(template, context), copies)
    except document_pdf.FontMissingError as exc:
        raise DocumentError(str(exc)) from exc


def _copies(template: DocumentTemplate, context: dict[str, Any]) -> int:
    text = _render(template.copies, context, template.name).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_COPIES:
        raise DocumentError(f"文书模板 {template.name} 的份数（copies）须为1-{MAX_COPIES}的整数，当前为“{text}”")
    return int(text)


def _table_layout(template: DocumentTemplate, context: dict[str, Any]) -> document_pdf.TableLayout:
    layout = template.table or {}

    def text(value: str) -> str:
        return _render(str(value), context, template.name)

    rows = tuple(
        document_pdf.TableRow(section=text(row["section"]))
        if "section" in row
        else document_pdf.TableRow(
            cells=tuple(text(cell) for cell in row["cells"]),
            height=row.get("height"),
            align=str(row.get("align", "left")),
            valign=str(row.get("valign", "middle")),
        )
        for row in layout.get("rows", [])
    )
    columns = tuple(float(c) for c in layout["columns"])
    return document_pdf.TableLayout(columns, rows, text(layout.get("intro", "")), text(layout.get("notes", "")))


def _render(source: str, context: dict[str, Any], where: str) -> str:
    try:
        return _JINJA.from_string(source).render(**context)
    except TemplateError as exc:
        raise DocumentError(f"文书模板 {where} 有误：{exc}") from exc


# ---- what templates see ---------------------------------------------------------------------


def _context(
    session: Session, instance: ProcessInstance, compiled: CompiledDefinition, data: dict[str, Any]
) -> dict[str, Any]:
    unit = session.get(Unit, instance.unit_id)
    if unit is None:
        raise DocumentUnavailable("没有找到申请单位")
    return {
        "business_key": instance.business_key,
        "procedure": dict(compiled.process_properties),
        "procedure_name": compiled.name,
        "application": data,
        "display": choice_titles(compiled, data),
        "unit": _unit_fields(session, unit),
        "office": paper_office_name(session, unit),
    }


def choice_titles(compiled: CompiledDefinition, data: dict[str, Any]) -> dict[str, str]:
    """Display titles of the chosen options (oneOf const → title) in the procedure's forms."""
    forms = compiled.forms
    titles: dict[str, str] = {}
    for props in compiled.properties.values():
        form = props.get("formJsonSchemaFilename")
        if form:
            for field, spec in forms.schema(form).get("properties", {}).items():
                title = _title_of(spec, data.get(field))
                if title and field not in titles:
                    titles[field] = title
    return titles


def _title_of(spec: dict[str, Any], value: Any) -> str | None:
    for option in spec.get("oneOf", []):
        if "const" in option and option["const"] == value:
            return str(option.get("title", value))
    return None


def _unit_fields(session: Session, unit: Unit) -> dict[str, str]:
    fields = ("name", "uscc", "unit_type", "nature", "affiliation", "region_code", "address", "postcode", "leader")
    values = {name: str(getattr(unit, name) or "") for name in fields}
    values["region"] = regions.full_name(session, unit.region_code).replace(" ", "") or unit.region_code
    return values


def paper_office_name(session: Session, unit: Unit) -> str:
    """The 同级机构编制部门 the paper goes to."""
    try:
        code = jurisdiction.fee_office(session, unit)
    except jurisdiction.RoutingError:
        return "同级机构编制部门"
    return session.scalar(select(Office.name).where(Office.code == code)) or "同级机构编制部门"


def chinese_date(day: date) -> str:
    """2026年9月28日, as dates are written in official documents (GB/T 9704)."""
    return f"{day.year}年{day.month}月{day.day}日"
