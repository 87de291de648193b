"""Edits of a BPMN diagram as policy staff make them in the modeler, for tests that change a procedure by data.

`Diagram` wraps one .bpmn file. Every operation leaves a complete file behind, so the deploy accepts it:
a new flow node gets its element, its lane's `flowNodeRef`, its `incoming`/`outgoing` references and a
`BPMNShape`; a new or re-routed sequence flow gets a `BPMNEdge` with right-angled waypoints between the
shapes it joins (or through the bends given, as one drags them in the modeler). Positions are centres
of shapes in the diagram's own coordinates; `make_room` opens space as the modeler's space tool does.

`problems(xml)` reads a file back and lists what a careless edit leaves: references to missing elements,
elements without a shape, shapes on top of each other, nodes drawn outside their lane. `python_sources()`
fingerprints the application's code, so a test can show that a change of procedure touched none of it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NS = {
    "bpmn": BPMN,
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}
ROOT = Path(__file__).resolve().parent.parent
SIZES = {"Task": (100, 80), "Gateway": (50, 50), "Event": (36, 36)}  # by the end of the element's tag
Point = tuple[float, float]


def q(name: str) -> str:
    """`bpmn:userTask` → the Clark name lxml uses."""
    prefix, _, local = name.partition(":")
    return f"{{{NS[prefix]}}}{local}"


def literal(text: str) -> str:
    """A text as a string literal of a diagram expression (service-task parameters are expressions)."""
    return json.dumps(text, ensure_ascii=False)


# --- Elements, as the modeler's palette and properties panel create them --------------------------------


def _element(tag: str, element_id: str, name: str, documentation: str = "") -> etree._Element:
    element = etree.Element(q(tag), id=element_id, name=name)
    if documentation:
        etree.SubElement(element, q("bpmn:documentation")).text = documentation
    return element


def _extensions(element: etree._Element) -> etree._Element:
    found = element.find("bpmn:extensionElements", NS)
    if found is None:
        found = etree.Element(q("bpmn:extensionElements"))
        documentation = element.find("bpmn:documentation", NS)
        element.insert(0 if documentation is None else 1, found)
    return found


def _set_property(element: etree._Element, name: str, value: str) -> None:
    extensions = _extensions(element)
    properties = extensions.find("spiffworkflow:properties", NS)
    if properties is None:
        properties = etree.SubElement(extensions, q("spiffworkflow:properties"))
    for prop in properties.findall("spiffworkflow:property", NS):
        if prop.get("name") == name:
            prop.set("value", value)
            return
    etree.SubElement(properties, q("spiffworkflow:property"), name=name, value=value)


@dataclass(frozen=True)
class Form:
    """What a user task shows: its form file, the stage the unit sees, the reviewer's instructions."""

    file: str
    stage: str
    instructions: str = ""


def user_task(element_id: str, name: str, form: Form, documentation: str = "", **properties: str) -> etree._Element:
    task = _element("bpmn:userTask", element_id, name, documentation)
    for key, value in {"formJsonSchemaFilename": form.file, "stage": form.stage, **properties}.items():
        _set_property(task, key, value)
    if form.instructions:
        etree.SubElement(_extensions(task), q("spiffworkflow:instructionsForEndUser")).text = form.instructions
    return task


def service_task(
    element_id: str, name: str, operator: str, params: dict[str, str], documentation: str = ""
) -> etree._Element:
    """A service task calling `operator`; `params` are expressions (`literal()` for a text)."""
    task = _element("bpmn:serviceTask", element_id, name, documentation)
    call = etree.SubElement(
        _extensions(task), q("spiffworkflow:serviceTaskOperator"), id=operator, resultVariable=f"{element_id}_result"
    )
    listed = etree.SubElement(call, q("spiffworkflow:parameters"))
    for key, value in params.items():
        etree.SubElement(listed, q("spiffworkflow:parameter"), id=key, type="str", value=value)
    return task


def script_task(element_id: str, name: str, script: str, documentation: str = "") -> etree._Element:
    task = _element("bpmn:scriptTask", element_id, name, documentation)
    etree.SubElement(task, q("bpmn:script")).text = script
    return task


def gateway(element_id: str, name: str) -> etree._Element:
    return _element("bpmn:exclusiveGateway", element_id, name)


def end_event(element_id: str, name: str, stage: str = "", documentation: str = "") -> etree._Element:
    event = _element("bpmn:endEvent", element_id, name, documentation)
    if stage:
        _set_property(event, "stage", stage)
    return event


# --- Geometry ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def center(self) -> Point:
        return self.x + self.w / 2, self.y + self.h / 2

    def overlaps(self, other: Box) -> bool:
        return (
            self.x < other.x + other.w
            and other.x < self.x + self.w
            and self.y < other.y + other.h
            and (other.y < self.y + self.h)
        )

    def contains(self, point: Point) -> bool:
        return self.x <= point[0] <= self.x + self.w and self.y <= point[1] <= self.y + self.h

    def port(self, toward: Point) -> Point:
        """Where a line to `toward` leaves the shape: straight up/down or sideways when it can, else the
        side facing the larger distance."""
        (cx, cy), (px, py) = self.center, toward
        if self.x <= px <= self.x + self.w and not self.y <= py <= self.y + self.h:
            return px, self.y if py < self.y else self.y + self.h
        if self.y <= py <= self.y + self.h and not self.x <= px <= self.x + self.w:
            return (self.x if px < self.x else self.x + self.w), py
        if abs(px - cx) >= abs(py - cy):
            return (self.x if px < cx else self.x + self.w), cy
        return cx, self.y if py < cy else self.y + self.h


def _route(source: Box, target: Box, via: tuple[Point, ...]) -> list[Point]:
    """Right-angled waypoints from `source` to `target`, through the bends `via` if given."""
    if via:
        return [source.port(via[0]), *via, target.port(via[-1])]
    start, end = source.port(target.center), target.port(source.center)
    if start[0] == end[0] or start[1] == end[1]:
        return [start, end]
    leaves_sideways = start[0] in (source.x, source.x + source.w)
    if leaves_sideways:
        middle = (start[0] + end[0]) / 2
        return [start, (middle, start[1]), (middle, end[1]), end]
    middle = (start[1] + end[1]) / 2
    return [start, (start[0], middle), (end[0], middle), end]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _size(tag: str) -> tuple[int, int]:
    local = etree.QName(tag).localname
    return next(size for suffix, size in SIZES.items() if local.endswith(suffix))


# --- The diagram ---------------------------------------------------------------------------------------


class Diagram:
    """One .bpmn file being edited."""

    def __init__(self, xml: bytes) -> None:
        self.root = etree.fromstring(xml)
        self.process = self.root.find("bpmn:process", NS)
        self.plane = self.root.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)

    def to_bytes(self) -> bytes:
        etree.indent(self.root, space="  ")
        return etree.tostring(self.root, xml_declaration=True, encoding="UTF-8")

    def element(self, element_id: str) -> etree._Element:
        (found,) = self.root.xpath("//*[@id=$id]", id=element_id)
        return found

    def box(self, element_id: str) -> Box:
        bounds = self._shape(element_id).find("dc:Bounds", NS)
        return Box(*(float(bounds.get(k)) for k in ("x", "y", "width", "height")))

    # --- rules and texts -----------------------------------------------------------------------------

    def set_property(self, element_id: str, name: str, value: str) -> None:
        """Set (or add) a property of an element; the process id names the process's own properties."""
        _set_property(self.element(element_id), name, value)

    def replace_text(self, element_id: str, old: str, new: str) -> None:
        """Replace a passage in one of the element's texts: documentation, instructions, script, a parameter
        or property value. The passage must occur exactly once, so a changed original is noticed."""
        element = self.element(element_id)
        texts = [
            *element.findall("bpmn:documentation", NS),
            *element.findall("bpmn:script", NS),
            *element.xpath("bpmn:extensionElements/*[not(*)]", namespaces=NS),
        ]
        attributes = element.xpath(
            "bpmn:extensionElements//spiffworkflow:parameter | bpmn:extensionElements//spiffworkflow:property",
            namespaces=NS,
        )
        places = [(t, None) for t in texts if old in (t.text or "")]
        places += [(a, "value") for a in attributes if old in a.get("value", "")]
        count = sum((p.text if key is None else p.get(key)).count(old) for p, key in places)
        if count != 1:
            raise ValueError(f"{element_id}: “{old}” occurs {count} times, expected once")
        holder, key = places[0]
        if key is None:
            holder.text = holder.text.replace(old, new)
        else:
            holder.set(key, holder.get(key).replace(old, new))

    # --- lanes and room ------------------------------------------------------------------------------

    def add_lane(self, lane_id: str, name: str, height: float, **properties: str) -> None:
        """A lane (a role) below the others; its properties, e.g. `routing`, choose the office."""
        lane = etree.SubElement(self.process.find("bpmn:laneSet", NS), q("bpmn:lane"), id=lane_id, name=name)
        for key, value in properties.items():
            _set_property(lane, key, value)
        lanes = [self.box(e.get("id")) for e in self.process.findall("bpmn:laneSet/bpmn:lane", NS)[:-1]]
        bottom = max(b.y + b.h for b in lanes)
        self._add_shape(lane_id, Box(lanes[0].x, bottom, lanes[0].w, height), isHorizontal="true")
        participant = self._pool()
        participant.set("height", _number(float(participant.get("height")) + height))

    def make_room(self, *, x: float | None = None, y: float | None = None, by: float) -> None:
        """Open a gap as the space tool does: what lies right of `x` (or below `y`) moves by `by`, lanes and
        the pool across it grow, and boundary events move with their task."""
        axis, at = ("x", x) if x is not None else ("y", y)
        size = "width" if axis == "x" else "height"
        hosts = {e.get("id"): e.get("attachedToRef") for e in self.process.iterfind("bpmn:boundaryEvent", NS)}
        moved = {
            s.get("bpmnElement")
            for s in self.plane.iterfind("bpmndi:BPMNShape", NS)
            if s.get("isHorizontal") is None and float(s.find("dc:Bounds", NS).get(axis)) >= at
        }
        for shape in self.plane.iterfind("bpmndi:BPMNShape", NS):
            element = shape.get("bpmnElement")
            bounds = shape.find("dc:Bounds", NS)
            start = float(bounds.get(axis))
            if shape.get("isHorizontal") is not None:  # a lane or the pool
                if start < at < start + float(bounds.get(size)):
                    bounds.set(size, _number(float(bounds.get(size)) + by))
                elif start >= at:
                    bounds.set(axis, _number(start + by))
            elif (hosts.get(element) or element) in moved:
                for found in shape.iterfind(".//dc:Bounds", NS):
                    found.set(axis, _number(float(found.get(axis)) + by))
        for point in self.plane.xpath("bpmndi:BPMNEdge/di:waypoint | bpmndi:BPMNEdge//dc:Bounds", namespaces=NS):
            if float(point.get(axis)) >= at:
                point.set(axis, _number(float(point.get(axis)) + by))

    # --- nodes and flows -----------------------------------------------------------------------------

    def add_node(self, node: etree._Element, lane: str, center: Point) -> etree._Element:
        """Place a new flow node (from the builders above) in a lane, centred at `center`."""
        self.process.append(node)
        etree.SubElement(self.element(lane), q("bpmn:flowNodeRef")).text = node.get("id")
        w, h = _size(node.tag)
        marker = {"isMarkerVisible": "true"} if node.tag.endswith("Gateway") else {}
        self._add_shape(node.get("id"), Box(center[0] - w / 2, center[1] - h / 2, w, h), **marker)
        return node

    def connect(
        self,
        flow_id: str,
        source: str,
        target: str,
        *,
        name: str = "",
        condition: str = "",
        via: tuple[Point, ...] = (),
    ) -> etree._Element:
        """A sequence flow between two nodes, with its condition (an expression) if any."""
        flow = etree.Element(q("bpmn:sequenceFlow"), id=flow_id, sourceRef=source, targetRef=target)
        self.process.append(flow)
        self.set_flow(flow_id, name=name, condition=condition)
        self._reference(source, "outgoing", flow_id)
        self._reference(target, "incoming", flow_id)
        self._draw_edge(flow_id, via)
        return flow

    def insert(
        self, flow_id: str, node: etree._Element, lane: str, center: Point, *, then: str, via: tuple[Point, ...] = ()
    ) -> etree._Element:
        """Put a node on an existing flow: the flow (keeping its name and condition) now ends at the node,
        and a new flow `then` leads on to where it went; `via` bends that new flow."""
        flow = self.element(flow_id)
        target = flow.get("targetRef")
        self.add_node(node, lane, center)
        flow.set("targetRef", node.get("id"))
        for ref in self.element(target).findall("bpmn:incoming", NS):
            if ref.text == flow_id:
                self.element(target).remove(ref)
        self._reference(node.get("id"), "incoming", flow_id)
        self.plane.remove(self._shape(flow_id))
        self._draw_edge(flow_id, ())
        self.connect(then, node.get("id"), target, via=via)
        return node

    def set_flow(self, flow_id: str, *, name: str = "", condition: str = "") -> None:
        """Label a flow and/or give it a condition (an expression over the data), replacing the old one."""
        flow = self.element(flow_id)
        if name:
            flow.set("name", name)
        if condition:
            for old in flow.findall("bpmn:conditionExpression", NS):
                flow.remove(old)
            expression = etree.SubElement(flow, q("bpmn:conditionExpression"))
            expression.set(q("xsi:type"), "bpmn:tFormalExpression")
            expression.text = condition

    def set_default(self, gateway_id: str, flow_id: str) -> None:
        """Make a flow the gateway's default: taken when no condition holds, so it has none itself."""
        self.element(gateway_id).set("default", flow_id)
        flow = self.element(flow_id)
        for condition in flow.findall("bpmn:conditionExpression", NS):
            flow.remove(condition)

    def add_boundary_timer(self, event_id: str, name: str, host: str, time_date: str) -> etree._Element:
        """A non-interrupting timer on a task (the task stays open when it fires), drawn on the task's lower
        edge; `time_date` is an expression giving the moment. Connect its outgoing path afterwards."""
        event = etree.Element(
            q("bpmn:boundaryEvent"), id=event_id, name=name, attachedToRef=host, cancelActivity="false"
        )
        timer = etree.SubElement(event, q("bpmn:timerEventDefinition"), id=f"{event_id}_timer")
        expression = etree.SubElement(timer, q("bpmn:timeDate"))
        expression.set(q("xsi:type"), "bpmn:tFormalExpression")
        expression.text = time_date
        (lane,) = self.process.xpath("bpmn:laneSet/bpmn:lane[bpmn:flowNodeRef=$id]", namespaces=NS, id=host)
        task = self.box(host)
        return self.add_node(event, lane.get("id"), (task.x + task.w * 0.7, task.y + task.h))

    def make_multi_instance(self, task_id: str, copies: int, collection: str, item: str, post_script: str) -> None:
        """Turn a user task into a 会签 of `copies` parallel copies: each copy's `post_script` leaves `item`
        behind, and the copies' items are gathered into the list `collection` for what follows."""
        task = self.element(task_id)
        etree.SubElement(_extensions(task), q("spiffworkflow:postScript")).text = post_script
        loop = etree.SubElement(task, q("bpmn:multiInstanceLoopCharacteristics"))
        loop.set(q("spiffworkflow:scriptsOnInstances"), "true")
        etree.SubElement(loop, q("bpmn:loopCardinality")).text = str(copies)
        etree.SubElement(loop, q("bpmn:loopDataOutputRef")).text = collection
        etree.SubElement(loop, q("bpmn:outputDataItem"), id=item, name=item)

    # --- the layout ------------------------------------------------------------------------------------

    def _shape(self, element_id: str) -> etree._Element:
        (found,) = self.plane.xpath("*[@bpmnElement=$id]", id=element_id)
        return found

    def _pool(self) -> etree._Element:
        participant = self.root.find("bpmn:collaboration/bpmn:participant", NS).get("id")
        return self._shape(participant).find("dc:Bounds", NS)

    def _add_shape(self, element_id: str, box: Box, **attributes: str) -> None:
        shape = etree.SubElement(
            self.plane, q("bpmndi:BPMNShape"), id=f"{element_id}_di", bpmnElement=element_id, **attributes
        )
        bounds = {"x": box.x, "y": box.y, "width": box.w, "height": box.h}
        etree.SubElement(shape, q("dc:Bounds"), **{k: _number(v) for k, v in bounds.items()})

    def _draw_edge(self, flow_id: str, via: tuple[Point, ...]) -> None:
        flow = self.element(flow_id)
        points = _route(self.box(flow.get("sourceRef")), self.box(flow.get("targetRef")), via)
        edge = etree.SubElement(self.plane, q("bpmndi:BPMNEdge"), id=f"{flow_id}_di", bpmnElement=flow_id)
        for x, y in points:
            etree.SubElement(edge, q("di:waypoint"), x=_number(x), y=_number(y))

    def _reference(self, node_id: str, kind: str, flow_id: str) -> None:
        """An incoming/outgoing reference where the schema wants it: after documentation and extensions,
        incoming ones first, then outgoing (before a script, an event definition or loop characteristics)."""
        node = self.element(node_id)
        reference = etree.Element(q(f"bpmn:{kind}"))
        reference.text = flow_id
        incoming, outgoing = node.findall("bpmn:incoming", NS), node.findall("bpmn:outgoing", NS)
        if kind == "incoming" and incoming:
            incoming[-1].addnext(reference)
        elif kind == "incoming" and outgoing:
            outgoing[0].addprevious(reference)
        elif kind == "outgoing" and (outgoing or incoming):
            (outgoing or incoming)[-1].addnext(reference)
        else:
            head = node.xpath("bpmn:documentation | bpmn:extensionElements", namespaces=NS)
            if head:
                head[-1].addnext(reference)
            else:
                node.insert(0, reference)


# --- Reading an edited file back -------------------------------------------------------------------------


def problems(xml: bytes) -> list[str]:
    """What a careless edit leaves behind (empty for a clean file)."""
    root = etree.fromstring(xml)
    process = root.find("bpmn:process", NS)
    ids = {e.get("id") for e in root.iter() if e.get("id")}
    refs = [f.get(a) for f in process.iterfind("bpmn:sequenceFlow", NS) for a in ("sourceRef", "targetRef")]
    refs += [r.text for tag in ("incoming", "outgoing", "flowNodeRef") for r in process.iterfind(f".//bpmn:{tag}", NS)]
    shapes = {s.get("bpmnElement"): s for s in root.iterfind(".//bpmndi:BPMNPlane/*", NS)}
    found = [f"{r} is named but missing" for r in list(shapes) + refs if r not in ids]
    nodes = [e for e in process if e.get("id") and etree.QName(e).localname != "laneSet"]
    found += [f"{e.get('id')} has no shape" for e in nodes if e.get("id") not in shapes]
    return found + _overlaps(root, shapes) + _outside_lanes(process, shapes)


def _bounds(shape: etree._Element) -> Box:
    bounds = shape.find("dc:Bounds", NS)
    return Box(*(float(bounds.get(k)) for k in ("x", "y", "width", "height")))


def _overlaps(root: etree._Element, shapes: dict[str, etree._Element]) -> list[str]:
    process = root.find("bpmn:process", NS)
    placed = [
        (e.get("id"), _bounds(shapes[e.get("id")]))
        for e in process
        if e.get("id") in shapes and etree.QName(e).localname not in ("laneSet", "sequenceFlow", "boundaryEvent")
    ]
    return [
        f"{a} and {b} overlap"
        for number, (a, box) in enumerate(placed)
        for b, other in placed[number + 1 :]
        if box.overlaps(other)
    ]


def _outside_lanes(process: etree._Element, shapes: dict[str, etree._Element]) -> list[str]:
    found = []
    for lane in process.iterfind("bpmn:laneSet/bpmn:lane", NS):
        band = _bounds(shapes[lane.get("id")])
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            if ref.text in shapes and not band.contains(_bounds(shapes[ref.text]).center):
                found.append(f"{ref.text} is drawn outside lane {lane.get('name')}")
    return found


def python_sources() -> str:
    """A fingerprint of every Python file of the application: equal before and after a data-only change."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "app").rglob("*.py")):
        digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
