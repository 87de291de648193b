"""What an operator or script helper may know about the action being run."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session


@dataclass
class ActionContext:
    """One runner action: who acts, on which unit and instance, at what time."""

    session: Session
    unit_id: int
    actor: str
    role: str
    now: datetime
    settings: dict[str, Any]
    instance_id: int | None = None
    procedure: dict[str, str] = field(default_factory=dict)  # the diagram's process properties
    data: dict[str, Any] = field(default_factory=dict)
    names: dict[str, Any] = field(default_factory=dict)  # the process context (CONTEXT_NAMES), read-only


# The read-only names every condition, script, timer expression and text may use besides the data
# of the forms upstream (docs/policy-guide.md lists them for policy staff). Their values come from
# app/services/process_context.py; a diagram cannot assign them.
CONTEXT_NAMES: dict[str, str] = {
    "unit_type": "单位类型：党政机关、事业单位或社会组织",
    "unit_nature": "单位性质，如 机关、事业单位、社会团体",
    "unit_affiliation": "隶属关系，如 中央和国家机关、省（自治区、直辖市）属",
    "unit_level": "单位所在地区的层级：province（省级）、city（市级）、county（县级）",
    "unit_region_code": "单位所在地区代码（GB/T 2260，6位），如 150602",
    "unit_province_code": "单位所在省份的代码，如 150000",
    "unit_province": "单位所在省份的名称，如 内蒙古自治区",
    "unit_city_code": "单位所在地市的代码（省级单位为空），如 150600",
    "unit_city": "单位所在地市的名称（省级单位为空），如 鄂尔多斯市",
    "application_domains": "本申请涉及的中文域名（列表）：注册、续费的域名，或申请中绑定的域名",
    "application_suffix": "本申请涉及的域名后缀：政务 或 公益（没有域名时为空）",
    "procedure": "本流程的流程级属性（字典），如 procedure[\"paperCopies\"]；文字中写作 {{ procedure.paperCopies }}",
    "fee": "本流程现行收费标准（字典，域名后缀 → 元/年），如 fee[\"政务\"]；由流程属性 tariffs 决定",
}
