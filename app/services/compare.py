"""What changed between two versions of a procedure: per diagram element and per file.

Elements are matched by id. Each is described by what the running procedure reads from it (name,
type, lane, properties, condition, default path, script, operator and parameters, timer, message,
documentation, instructions); an element is added, removed, or changed in some of those aspects.
Files (forms/, documents/) are compared as text (unified diff), forms also field by field.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from app.engine.definitions import NS, parse_xml_safely
from app.models import WorkflowDefinition

BPMN = NS["bpmn"]
_SKIPPED = {"definitions", "collaboration", "laneSet", "extensionElements", "incoming", "outgoing", "flowNodeRef"}
TYPE_LABELS = {
    "process": "流程",
    "participant": "参与者",
    "lane": "泳道（角色）",
    "userTask": "用户任务",
    "serviceTask": "服务任务",
    "scriptTask": "脚本任务",
    "task": "任务",
    "startEvent": "开始事件",
    "endEvent": "结束事件",
    "intermediateCatchEvent": "中间捕获事件",
    "intermediateThrowEvent": "中间抛出事件",
    "boundaryEvent": "边界事件",
    "exclusiveGateway": "排他网关",
    "parallelGateway": "并行网关",
    "inclusiveGateway": "包容网关",
    "eventBasedGateway": "事件网关",
    "sequenceFlow": "连线",
    "message": "消息",
    "subProcess": "子流程",
}
FORM_ASPECTS = {"title": "标题", "description": "说明", "type": "类型", "format": "格式", "maxLength": "最大长度"}


@dataclass(frozen=True)
class Change:
    aspect: str  # Chinese label, e.g. 名称, 属性 stage, 条件
    before: str
    after: str


@dataclass(frozen=True)
class ElementDiff:
    element_id: str
    kind: str  # added / removed / changed
    type_label: str
    name: str
    changes: list[Change] = field(default_factory=list)


@dataclass(frozen=True)
class FileDiff:
    path: str
    kind: str  # added / removed / changed
    summary: list[str]  # forms: field by field
    diff: str  # unified diff


@dataclass(frozen=True)
class Comparison:
    old: WorkflowDefinition
    new: WorkflowDefinition
    elements: list[ElementDiff]
    files: list[FileDiff]

    def ids(self, kind: str) -> list[str]:
        return [e.element_id for e in self.elements if e.kind == kind]


def compare(old: WorkflowDefinition, new: WorkflowDefinition) -> Comparison:
    """Differences from version `old` to version `new` of one procedure."""
    before, after = describe(old.xml), describe(new.xml)
    elements = [_element_diff(i, before.get(i), after.get(i)) for i in _ordered_ids(before, after)]
    paths = sorted(set(old.files or {}) | set(new.files or {}))
    files = [_file_diff(p, (old.files or {}).get(p), (new.files or {}).get(p), old, new) for p in paths]
    return Comparison(old, new, [e for e in elements if e is not None], [f for f in files if f is not None])


def _ordered_ids(before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]) -> list[str]:
    return list(dict.fromkeys([*after, *before]))


# ---- elements ------------------------------------------------------------------------------------


def describe(xml: str) -> dict[str, dict[str, str]]:
    """Element id → aspect label → text, for every BPMN element of a stored diagram."""
    root = parse_xml_safely(xml.encode("utf-8"), max(len(xml.encode("utf-8")), 1))
    lanes = {
        ref.text.strip(): lane.get("name") or lane.get("id")
        for lane in root.iter(f"{{{BPMN}}}lane")
        for ref in lane.findall("bpmn:flowNodeRef", NS)
        if ref.text
    }
    described = {}
    for element in root.iter(f"{{{BPMN}}}*"):
        local = etree.QName(element).localname
        if element.get("id") and local not in _SKIPPED and not local.endswith("EventDefinition"):
            described[element.get("id")] = _aspects(element, local, lanes)
    return described


def _aspects(element: etree._Element, local: str, lanes: dict[str, str]) -> dict[str, str]:
    aspects = {"类型": TYPE_LABELS.get(local, local), "名称": element.get("name") or ""}
    if element.get("id") in lanes:
        aspects["泳道"] = lanes[element.get("id")]
    for prop in element.xpath("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", namespaces=NS):
        aspects[f"属性 {prop.get('name')}"] = prop.get("value") or ""
    for attribute, label in (("sourceRef", "起点"), ("targetRef", "终点"), ("default", "默认路径")):
        if element.get(attribute):
            aspects[label] = element.get(attribute)
    if element.get("attachedToRef"):
        aspects["附着于"] = element.get("attachedToRef")
    aspects.update(_texts(element))
    aspects.update(_operator(element))
    aspects.update(_events(element))
    return {k: v for k, v in aspects.items() if v != ""}


def _texts(element: etree._Element) -> dict[str, str]:
    paths = {
        "条件": "bpmn:conditionExpression",
        "脚本": "bpmn:script",
        "说明": "bpmn:documentation",
        "办理说明": "bpmn:extensionElements/spiffworkflow:instructionsForEndUser",
    }
    found = {label: element.find(path, NS) for label, path in paths.items()}
    return {label: (node.text or "").strip() for label, node in found.items() if node is not None}


def _operator(element: etree._Element) -> dict[str, str]:
    operator = element.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
    if operator is None:
        return {}
    aspects = {"服务操作": operator.get("id") or "", "结果变量": operator.get("resultVariable") or ""}
    for param in operator.findall("spiffworkflow:parameters/spiffworkflow:parameter", NS):
        aspects[f"参数 {param.get('id')}"] = param.get("value") or ""
    return aspects


def _events(element: etree._Element) -> dict[str, str]:
    aspects = {}
    for kind, label in (("timeDate", "定时（日期）"), ("timeDuration", "定时（时长）"), ("timeCycle", "定时（周期）")):
        node = element.find(f"bpmn:timerEventDefinition/bpmn:{kind}", NS)
        if node is not None:
            aspects[label] = (node.text or "").strip()
    message = element.find("bpmn:messageEventDefinition", NS)
    if message is not None:
        aspects["消息"] = message.get("messageRef") or ""
        variable = message.find("bpmn:extensionElements/spiffworkflow:messageVariable", NS)
        if variable is not None:
            aspects["消息变量"] = (variable.text or "").strip()
    return aspects


def _element_diff(element_id: str, before: dict[str, str] | None, after: dict[str, str] | None) -> ElementDiff | None:
    shown = after or before or {}
    label, name = shown.get("类型", ""), shown.get("名称", "")
    if before is None:
        return ElementDiff(element_id, "added", label, name, [Change(k, "", v) for k, v in (after or {}).items()])
    if after is None:
        return ElementDiff(element_id, "removed", label, name, [Change(k, v, "") for k, v in before.items()])
    keys = list(dict.fromkeys([*before, *after]))
    changes = [Change(k, before.get(k, ""), after.get(k, "")) for k in keys if before.get(k) != after.get(k)]
    return ElementDiff(element_id, "changed", label, name, changes) if changes else None


# ---- files ------------------------------------------------------------------------------------------


def _file_diff(
    path: str, before: str | None, after: str | None, old: WorkflowDefinition, new: WorkflowDefinition
) -> FileDiff | None:
    if before == after:
        return None
    kind = "added" if before is None else "removed" if after is None else "changed"
    lines = difflib.unified_diff(
        (before or "").splitlines(),
        (after or "").splitlines(),
        fromfile=f"v{old.version}/{path}",
        tofile=f"v{new.version}/{path}",
        lineterm="",
    )
    summary = form_changes(before, after) if path.endswith(".schema.json") else []
    return FileDiff(path, kind, summary, "\n".join(lines))


def form_changes(before: str | None, after: str | None) -> list[str]:
    """Field-level changes of a form, in words; empty when either side is not readable JSON."""
    old, new = _form(before), _form(after)
    if old is None or new is None:
        return []
    (old_fields, old_required), (new_fields, new_required) = old, new
    lines = []
    for name in dict.fromkeys([*new_fields, *old_fields]):
        title = str(new_fields.get(name, old_fields.get(name, {})).get("title") or name)
        if name not in old_fields:
            lines.append(f"新增字段 {name}（{title}）" + ("，必填" if name in new_required else ""))
        elif name not in new_fields:
            lines.append(f"删除字段 {name}（{title}）")
        else:
            lines += _field_changes(name, old_fields[name], new_fields[name])
            if (name in old_required) != (name in new_required):
                lines.append(f"字段 {name}（{title}）改为" + ("必填" if name in new_required else "选填"))
    return lines


def _form(text: str | None) -> tuple[dict[str, dict[str, Any]], set[str]] | None:
    if text is None:
        return {}, set()
    try:
        schema = json.loads(text)
    except ValueError:
        return None
    if not isinstance(schema, dict) or not isinstance(schema.get("properties", {}), dict):
        return None
    properties = {k: v for k, v in schema.get("properties", {}).items() if isinstance(v, dict)}
    required = schema.get("required", [])
    return properties, set(required) if isinstance(required, list) else set()


def _field_changes(name: str, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    lines = [
        f"字段 {name} 的{label}：{before.get(key, '（无）')} → {after.get(key, '（无）')}"
        for key, label in FORM_ASPECTS.items()
        if before.get(key) != after.get(key)
    ]
    if _options(before) != _options(after):
        lines.append(
            f"字段 {name} 的选项：{'、'.join(_options(before)) or '（无）'} → {'、'.join(_options(after)) or '（无）'}"
        )
    return lines


def _options(spec: dict[str, Any]) -> list[str]:
    source = spec.get("items", spec) if spec.get("type") == "array" else spec
    if not isinstance(source, dict):
        return []
    options = source.get("oneOf") or [{"const": v} for v in source.get("enum", [])]
    return [str(o.get("title", o.get("const"))) for o in options if isinstance(o, dict)]
