"""Excel exports of lists (openpyxl): every cell a text cell that Excel will not evaluate; each export audited.

A value that Excel would read as a formula or a DDE call (starting with =, +, -, @, a tab or a line
break) is stored as a string cell with Excel's quote prefix: it shows exactly as stored and stays
text when someone edits the cell. Every other value is a string cell too, so nothing in the file
is ever a formula. The second sheet says who exported what, when, under which filters.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from sqlalchemy.orm import Session

from app.services import audit
from app.services.audit import Actor
from app.services.calendar import BEIJING
from app.services.masking import mask_mobile

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
_BOLD = Font(bold=True)


@dataclass(frozen=True)
class Sheet:
    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[Any]]


def as_text(value: Any) -> str:
    """How a value reads in a cell: dates as YYYY-MM-DD, times in Beijing, nothing for None."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "是" if value else "否"
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))


def workbook(sheets: Sequence[Sheet], about: Mapping[str, str]) -> bytes:
    """The sheets, then a sheet 导出说明 with `about` (list, exporter, time, filters); returns the .xlsx bytes."""
    book = Workbook(write_only=True)
    for sheet in [*sheets, Sheet("导出说明", ("项目", "内容"), list(about.items()))]:
        target = book.create_sheet(sheet.title[:31])
        target.append([_cell(target, header, bold=True) for header in sheet.headers])
        for row in sheet.rows:
            target.append([_cell(target, value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(sheet: Any, value: Any, bold: bool = False) -> WriteOnlyCell:
    text = as_text(value)
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"  # openpyxl would otherwise write a text starting with "=" as a formula
    if text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True
    if bold:
        cell.font = _BOLD
    return cell


def export(
    session: Session, actor: Actor, name: str, sheets: Sequence[Sheet], filters: Mapping[str, str], now: datetime
) -> bytes:
    """Build the workbook and audit the export (which list, the filters, how many rows)."""
    about = {
        "列表": name,
        "导出人": f"{actor.name}（{actor.role}）",
        "导出时间": as_text(now),
        "筛选条件": "；".join(f"{k}={v}" for k, v in filters.items()) or "无",
        "行数": str(sum(len(s.rows) for s in sheets)),
    }
    rows = {s.title: len(s.rows) for s in sheets}
    audit.record(session, actor, "export", detail={"list": name, "filters": dict(filters), "rows": rows})
    return workbook(sheets, about)


# ---- the lists as sheets -------------------------------------------------------------------

DOMAIN_HEADERS = ("域名", "后缀", "单位", "地区代码", "状态", "注册日期", "到期日", "续费中的申请", "冻结或删除原因")
UNPAID_HEADERS = ("申请编号", "事项", "单位", "地区代码", "域名", "年限", "应缴金额（元）", "生成时间")
BATCH_HEADERS = ("批次", "编办", "笔数", "金额（元）", "生成时间", "生成人", "认款状态", "认款时间", "认款人")
CHARGE_HEADERS = ("批次", "申请编号", "单位", "域名", "事项", "年限", "收费标准（元/年）", "金额（元）", "发票号码")
UNIT_HEADERS = (
    *("单位名称", "统一社会信用代码", "用户类型", "单位性质", "隶属关系", "地区代码", "单位地址", "机构负责人"),
    *("联系人", "手机号码", "电子邮箱", "登录账号", "账号状态", "有效域名数"),
)
OVERDUE_HEADERS = (
    *("单位名称", "地区代码", "标识编号", "网站名称", "挂标截止日期"),
    *("最近检查时间", "检查结果", "检查地址", "原因"),
)
INBOX_HEADERS = (
    *("申请编号", "事项", "申请单位", "地区代码", "域名", "办理环节", "阶段"),
    *("到达时间", "办理期限", "是否超期", "签收人"),
)


def overdue_sheet(rows: Sequence[Any]) -> Sheet:
    """逾期未挂标 rows (app/services/placement.py OverdueRow)."""
    return Sheet("逾期未挂标", OVERDUE_HEADERS, [_overdue_cells(r) for r in rows])


def _overdue_cells(r: Any) -> list[Any]:
    latest, cert = r.latest, r.certificate
    checked = ["", "尚未检查", "", ""]
    if latest:
        checked = [latest.checked_at, latest.outcome_label, latest.url, latest.reason]
    return [r.unit.name, r.unit.region_code, cert.code, cert.site_name, cert.hang_deadline, *checked]


def domain_sheet(rows: Sequence[Any]) -> Sheet:
    """到期域名查询 rows (app/services/domain_query.py DomainRow)."""
    return Sheet("域名", DOMAIN_HEADERS, [_domain_cells(r) for r in rows])


def _domain_cells(r: Any) -> list[Any]:
    d = r.domain
    return [d.name, d.suffix, r.unit_name, r.region_code, d.status_label, d.registered_on, d.expires_on, r.renewal,
            d.status_reason]  # fmt: skip


def unpaid_sheet(rows: Sequence[Any]) -> Sheet:
    """待缴费 rows (app/services/payments.py UnpaidRow)."""
    cells = [[r.business_key, r.procedure, r.unit_name, r.region_code, r.domains, r.years, r.total, r.since]
             for r in rows]  # fmt: skip
    return Sheet("待缴费", UNPAID_HEADERS, cells)


def remittance_sheets(batches: Sequence[Any]) -> list[Sheet]:
    """Remittance batches (app/services/payments.py Batch) and, on a second sheet, every charge in them."""
    summary = [_batch_cells(b) for b in batches]
    charges = [
        [b.remittance.id, e.business_key, e.unit_name, e.line.domain, e.line.purpose, e.line.years,
         e.line.tariff_yuan, e.line.amount_yuan, e.line.invoice_no]
        for b in batches
        for e in b.lines
    ]  # fmt: skip
    return [Sheet("汇款批次", BATCH_HEADERS, summary), Sheet("费用明细", CHARGE_HEADERS, charges)]


def _batch_cells(b: Any) -> list[Any]:
    r = b.remittance
    confirmed = "已认款" if r.confirmed_at else "待认款"
    return [r.id, b.office_name, b.count, b.total, r.created_at, r.created_by, confirmed, r.confirmed_at,
            r.confirmed_by]  # fmt: skip


def unit_sheet(rows: Sequence[Any]) -> Sheet:
    """申报单位 rows (app/services/unit_admin.py UnitRow)."""
    return Sheet("申报单位", UNIT_HEADERS, [_unit_cells(row) for row in rows])


def _unit_cells(row: Any) -> list[Any]:
    unit, contact = row.unit, row.unit.contacts[0] if row.unit.contacts else None
    status = "已锁定" if row.locked else ("正常" if row.account else "无账号")
    return [
        unit.name, unit.uscc, unit.unit_type, unit.nature, unit.affiliation, unit.region_code, unit.address,
        unit.leader, contact.name if contact else "", mask_mobile(contact.mobile) if contact else "",
        contact.email if contact else "", row.account.username if row.account else "", status, row.domains,
    ]  # fmt: skip


def inbox_sheet(rows: Sequence[Any]) -> Sheet:
    """待办 rows (app/services/worklist.py InboxRow)."""
    return Sheet("待办", INBOX_HEADERS, [_inbox_cells(r) for r in rows])


def _inbox_cells(r: Any) -> list[Any]:
    item = r.item
    return [r.business_key, r.procedure, r.unit_name, r.region_code, r.domain, item.title, item.stage,
            item.created_at, item.due_at, r.overdue, item.assignee or "未签收"]  # fmt: skip
