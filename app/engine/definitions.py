"""Deploy, validate and version diagrams; parsed specs are cached by content hash."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.engine.errors import DeployError, NotFoundError
from app.engine.timers import use_engine_clock
from app.models import WorkflowDefinition

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
MAX_ELEMENTS = 20_000
MAX_DEPTH = 64


@dataclass
class CompiledDefinition:
    """A parsed diagram plus what we read from its XML (properties, texts, lanes)."""

    sha256: str
    process_id: str
    name: str
    spec: BpmnProcessSpec
    subprocess_specs: dict[str, BpmnProcessSpec]
    documentation: str
    properties: dict[str, dict[str, str]] = field(default_factory=dict)
    instructions: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    stages: list[str] = field(default_factory=list)

    @property
    def process_properties(self) -> dict[str, str]:
        return self.properties.get(self.process_id, {})

    def element_properties(self, element_id: str) -> dict[str, str]:
        return self.properties.get(element_id, {})


def parse_xml_safely(data: bytes, max_bytes: int) -> etree._Element:
    """Parse untrusted XML: no DTD, no entities, no network, bounded size and depth."""
    if len(data) > max_bytes:
        raise DeployError([("definitions", f"文件大小 {len(data)} 字节，超过上限 {max_bytes} 字节")])
    upper = data.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise DeployError([("definitions", "不允许 DOCTYPE 或实体声明")])
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise DeployError([("definitions", f"XML 格式错误: {exc}")]) from exc
    if root.getroottree().docinfo.internalDTD is not None:
        raise DeployError([("definitions", "不允许 DOCTYPE 或实体声明")])
    _check_size(root)
    return root


def _check_size(root: etree._Element) -> None:
    for count, _element in enumerate(root.iter(), start=1):
        if count > MAX_ELEMENTS:
            raise DeployError([("definitions", f"元素超过 {MAX_ELEMENTS} 个")])
    if max((len(list(e.iterancestors())) for e in root.iter()), default=0) > MAX_DEPTH:
        raise DeployError([("definitions", f"嵌套超过 {MAX_DEPTH} 层")])


def compile_definition(root: etree._Element, file_name: str, sha256: str) -> CompiledDefinition:
    """Validate against the BPMN schema and let SpiffWorkflow parse the one executable process."""
    processes = root.xpath("bpmn:process[@isExecutable='true']", namespaces=NS)
    if len(processes) != 1:
        raise DeployError([("definitions", "每个文件须有且只有一个可执行流程 (isExecutable=true)")])
    process = processes[0]
    parser = SpiffBpmnParser(validator=VALIDATOR)
    try:
        parser.add_bpmn_xml(root.getroottree(), filename=file_name)
        spec = parser.get_spec(process.get("id"))
        subprocess_specs = parser.get_subprocess_specs(process.get("id"))
    except ValidationException as exc:
        raise DeployError([(exc.id or exc.tag or "definitions", str(exc).splitlines()[0])]) from exc
    except Exception as exc:  # the XSD validator reports schema errors as plain exceptions
        raise DeployError([("definitions", f"BPMN 校验失败: {exc}")]) from exc
    for task_spec in all_task_specs(spec, subprocess_specs):
        if hasattr(task_spec, "event_definition"):
            use_engine_clock(task_spec.event_definition)
    return _describe(root, process, spec, subprocess_specs, sha256)


def all_task_specs(spec: BpmnProcessSpec, subprocess_specs: dict[str, BpmnProcessSpec]) -> list[Any]:
    specs = [spec, *subprocess_specs.values()]
    return [ts for s in specs for ts in s.task_specs.values() if getattr(ts, "bpmn_id", None)]


def _describe(
    root: etree._Element,
    process: etree._Element,
    spec: BpmnProcessSpec,
    subprocess_specs: dict[str, BpmnProcessSpec],
    sha256: str,
) -> CompiledDefinition:
    compiled = CompiledDefinition(
        sha256=sha256,
        process_id=process.get("id"),
        name=process.get("name") or process.get("id"),
        spec=spec,
        subprocess_specs=subprocess_specs,
        documentation=_text(process.find("bpmn:documentation", NS)),
    )
    for element in process.iter():
        element_id = element.get("id")
        if not element_id:
            continue
        compiled.names[element_id] = element.get("name") or element_id
        props = {
            p.get("name"): p.get("value") or ""
            for p in element.xpath(
                "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", namespaces=NS
            )
        }
        if props:
            compiled.properties[element_id] = props
            stage = props.get("stage")
            if stage and stage not in compiled.stages:
                compiled.stages.append(stage)
        instructions = element.find("bpmn:extensionElements/spiffworkflow:instructionsForEndUser", NS)
        if instructions is not None:
            compiled.instructions[element_id] = _text(instructions)
    return compiled


def _text(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class DefinitionStore:
    """Deployed versions in the database; compiled specs in memory, keyed by sha256."""

    def __init__(self, linter: Any, max_bytes: int) -> None:
        self._linter = linter
        self._max_bytes = max_bytes
        self._cache: dict[str, CompiledDefinition] = {}
        self._sha_by_id: dict[int, str] = {}  # stored versions never change, so this never goes stale

    def deploy(
        self, session: Session, data: bytes, file_name: str, deployed_by: str
    ) -> tuple[WorkflowDefinition, bool]:
        """Store a new version unless the newest version has the same content; returns (row, created)."""
        sha = sha256_of(data)
        compiled = self._cache.get(sha) or compile_definition(parse_xml_safely(data, self._max_bytes), file_name, sha)
        problems = self._linter(compiled)
        if problems:
            raise DeployError(problems)
        latest = session.scalar(
            select(WorkflowDefinition)
            .where(WorkflowDefinition.process_id == compiled.process_id)
            .order_by(WorkflowDefinition.version.desc())
            .limit(1)
        )
        if latest is not None and latest.sha256 == sha:  # reverting to older content is a new version
            return latest, False
        row = WorkflowDefinition(
            process_id=compiled.process_id,
            name=compiled.name,
            version=(latest.version if latest else 0) + 1,
            sha256=sha,
            file_name=Path(file_name).name,
            xml=data.decode("utf-8"),
            deployed_by=deployed_by,
        )
        session.add(row)
        session.flush()
        self._cache[sha] = compiled
        return row, True

    def latest(self, session: Session, process_id: str) -> WorkflowDefinition:
        row = session.scalar(
            select(WorkflowDefinition)
            .where(WorkflowDefinition.process_id == process_id)
            .order_by(WorkflowDefinition.version.desc())
            .limit(1)
        )
        if row is None:
            raise NotFoundError(f"流程 {process_id} 尚未部署")
        return row

    def compiled_by_id(self, session: Session, definition_id: int) -> CompiledDefinition:
        sha = self._sha_by_id.get(definition_id)
        if sha is not None and sha in self._cache:
            return self._cache[sha]
        row = session.get(WorkflowDefinition, definition_id)
        if row is None:
            raise NotFoundError(f"流程版本 {definition_id} 不存在")
        return self.compiled(row)

    def compiled(self, row: WorkflowDefinition) -> CompiledDefinition:
        """The parsed spec of a stored version; parsed once per process and content."""
        cached = self._cache.get(row.sha256)
        if cached is None:
            root = parse_xml_safely(row.xml.encode("utf-8"), max(self._max_bytes, len(row.xml.encode())))
            cached = compile_definition(root, row.file_name, row.sha256)
            self._cache[row.sha256] = cached
        self._sha_by_id[row.id] = row.sha256
        return cached
