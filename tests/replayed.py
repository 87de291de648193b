"""The preview and migration tests' diagram (tests/diagrams/replayed.bpmn), edits of it, and its applications.

An edit of the diagram is text replacements; `laid_out` then draws every element again (a deploy
refuses elements without a place in the layout), in a row, so an edit need not place what it adds.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from app.engine.bundles import Bundle, collect
from app.engine.definitions import parse_xml_safely
from tests.conftest import DIAGRAMS, TESTS_ROOT

FILE = "replayed.bpmn"
PROCESS = "replayed"
XML = (DIAGRAMS / FILE).read_text(encoding="utf-8")
ENTRY = {
    "domain_name": "预演测试单位",
    "years": 1,
    "contact_name": "张经办",
    "contact_mobile": "13800138000",
    "contact_email": "zhang@example.cn",
}
_BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_DI_NAMESPACES = {
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
}
_NOT_DRAWN = {"laneSet", "extensionElements", "documentation"}


def edited(*replacements: tuple[str, str]) -> str:
    """The diagram with each (old, new) text replaced; every old text must occur."""
    xml = XML
    for old, new in replacements:
        assert old in xml, old
        xml = xml.replace(old, new)
    return xml


def bundle(xml: str = XML) -> Bundle:
    data = laid_out(xml)
    return collect(FILE, data, parse_xml_safely(data, 10_000_000), TESTS_ROOT)


def laid_out(xml: str) -> bytes:
    """The diagram with a fresh layout: every flow node in a row, every flow a straight edge."""
    root = etree.fromstring(xml.encode("utf-8"))
    for old in root.findall(f"{{{_DI_NAMESPACES['bpmndi']}}}BPMNDiagram"):
        root.remove(old)
    process = root.find(f"{{{_BPMN}}}process")
    diagram = etree.SubElement(root, _di("bpmndi", "BPMNDiagram"), id="layout", nsmap=_DI_NAMESPACES)
    plane = etree.SubElement(diagram, _di("bpmndi", "BPMNPlane"), id="layout_plane", bpmnElement=process.get("id"))
    centres: dict[str, tuple[int, int]] = {}
    elements = [e for e in process if etree.QName(e).localname not in _NOT_DRAWN]
    for index, element in enumerate(e for e in elements if etree.QName(e).localname != "sequenceFlow"):
        centres[element.get("id")] = (150 + 150 * index, 120)
        shape = etree.SubElement(plane, _di("bpmndi", "BPMNShape"), id=f"{element.get('id')}_di")
        shape.set("bpmnElement", element.get("id"))
        etree.SubElement(shape, _di("dc", "Bounds"), x=str(100 + 150 * index), y="80", width="100", height="80")
    for flow in (e for e in elements if etree.QName(e).localname == "sequenceFlow"):
        edge = etree.SubElement(plane, _di("bpmndi", "BPMNEdge"), id=f"{flow.get('id')}_di")
        edge.set("bpmnElement", flow.get("id"))
        for end in (flow.get("sourceRef"), flow.get("targetRef")):
            x, y = centres[end]
            etree.SubElement(edge, _di("di", "waypoint"), x=str(x), y=str(y))
    etree.indent(diagram, space="  ", level=1)
    diagram.getprevious().tail, diagram.tail = "\n  ", "\n"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _di(prefix: str, name: str) -> str:
    return f"{{{_DI_NAMESPACES[prefix]}}}{name}"


def entry(**changes: Any) -> dict[str, Any]:
    return {**ENTRY, **changes}
