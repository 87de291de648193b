"""XML attacks on diagrams: XXE, external DTDs, XInclude, entity expansion, oversized and deep documents.

A diagram reaches the server three ways: `flask deploy` (Engine.deploy_file), the studio's JSON routes
(check, deploy, 试跑 preview) and the comparison of versions; all parse through
app/engine/definitions.parse_xml_safely. Every case carries a marker file's path or the address of a local
listener: a refusal must name the DOCTYPE, and an accepted document must neither contain the marker nor
have made the listener receive a connection.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import func, select

from app.engine import Engine
from app.engine.bundles import Bundle
from app.engine.definitions import MAX_DEPTH, MAX_ELEMENTS, parse_xml_safely
from app.engine.errors import DeployError
from app.extensions import db
from app.models import WorkflowDefinition
from tests.attacks.tally import attempt
from tests.conftest import DIAGRAMS, TESTS_ROOT

ATTACK = "XML (XXE, DTD, XInclude, entity expansion)"
SCRIPTED = (DIAGRAMS / "scripted.bpmn").read_text(encoding="utf-8").replace("SCRIPT", "x = 1")
DECISION_FORM = (TESTS_ROOT / "forms" / "decision.schema.json").read_text(encoding="utf-8")
FILES = {"forms/decision.schema.json": DECISION_FORM}
MARKER = "XXE-MARKER-7f3a9c"
LIMIT = 2 * 1024 * 1024


class Listener:
    """A TCP port on 127.0.0.1 that counts connections: any fetch a parser makes shows up here."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/evil"


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.server.close()


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("xxe") / "secret.txt"
    path.write_text(MARKER, encoding="utf-8")
    return path


def _with_prolog(prolog: str, body: str = SCRIPTED) -> str:
    """The diagram with a DOCTYPE (or anything else) between the XML declaration and the root."""
    declaration, _, rest = body.partition("\n")
    return f"{declaration}\n{prolog}\n{rest}"


def _in_documentation(fragment: str) -> str:
    """The diagram with `fragment` as the process's documentation."""
    anchor = '<bpmn:process id="scripted" name="脚本测试流程" isExecutable="true">'
    return SCRIPTED.replace(anchor, f"{anchor}\n    <bpmn:documentation>{fragment}</bpmn:documentation>")


def doctype_cases(secret: Path, url: str) -> dict[str, str]:
    """Documents that need a DTD to do harm; every one must be refused before anything is expanded."""
    laughs = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    return {
        "external entity (file)": f'<!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{secret}">]>',
        "external entity (http)": f'<!DOCTYPE d [<!ENTITY xxe SYSTEM "{url}">]>',
        "external DTD": f'<!DOCTYPE d SYSTEM "{url}">',
        "public DTD": f'<!DOCTYPE d PUBLIC "-//EVIL//DTD" "{url}">',
        "parameter entity": f'<!DOCTYPE d [<!ENTITY % p SYSTEM "{url}"> %p;]>',
        "billion laughs": f'<!DOCTYPE d [<!ENTITY l0 "ha">{laughs}]>',
        "quadratic blow-up": f'<!DOCTYPE d [<!ENTITY a "{"x" * 50_000}">]>',
        "lower-case doctype": f'<!doctype d [<!entity xxe SYSTEM "file://{secret}">]>',
    }


def _documents(secret: Path, url: str) -> dict[str, bytes]:
    cases = {name: _with_prolog(prolog).encode() for name, prolog in doctype_cases(secret, url).items()}
    # Encoded as UTF-16 a DOCTYPE has no ASCII bytes "<!DOCTYPE": the parsed tree must still be checked.
    utf16 = _with_prolog(f'<!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{secret}">]>')
    cases["DOCTYPE in UTF-16"] = utf16.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    return cases


@pytest.fixture(scope="module")
def hostile(secret_file: Path, listener: Listener) -> dict[str, bytes]:
    return _documents(secret_file, listener.url)


DOCTYPE_NAMES = [*doctype_cases(Path("/x"), "http://x"), "DOCTYPE in UTF-16"]


class TestDocumentTypeDeclarations:
    """XXE, external DTDs, parameter entities and entity expansion (billion laughs, quadratic blow-up), also
    disguised in lower case or UTF-16: parse_xml_safely refuses every document with a DOCTYPE, names the
    reason in Chinese, and neither reads the marker file nor connects to the listener."""

    @pytest.mark.parametrize("name", DOCTYPE_NAMES)
    def test_the_parser_refuses_a_doctype(self, name: str, hostile: dict[str, bytes], listener: Listener) -> None:
        with attempt(ATTACK, f"parse: {name}"):
            before = listener.connections
            with pytest.raises(DeployError) as refused:
                parse_xml_safely(hostile[name], LIMIT)
            assert "DOCTYPE" in str(refused.value.problems)
            assert MARKER not in str(refused.value.problems)
            assert listener.connections == before

    @pytest.mark.parametrize("name", DOCTYPE_NAMES)
    def test_flask_deploy_refuses_a_doctype(
        self, name: str, engine: Engine, hostile: dict[str, bytes], tmp_path: Path
    ) -> None:
        with attempt(ATTACK, f"flask deploy: {name}"):
            path = tmp_path / "workflows" / "scripted.bpmn"
            path.parent.mkdir()
            path.write_bytes(hostile[name])
            (tmp_path / "forms").mkdir()
            (tmp_path / "forms" / "decision.schema.json").write_text(DECISION_FORM, encoding="utf-8")
            with pytest.raises(DeployError, match="DOCTYPE"):
                engine.deploy_file(path, "attacker", files_root=tmp_path)
            assert _versions("scripted") == 0


class TestXInclude:
    """XInclude of a local file or a URL, and schemaLocation hints: nothing is included or fetched.

    Such documents have no DOCTYPE, so they parse; the parser never runs XInclude processing and never
    loads schemas named in the document, so the marker stays out of the deployed version and the listener
    sees no connection."""

    @pytest.mark.parametrize("target", ["file", "url"])
    def test_an_xinclude_is_not_processed(
        self, target: str, engine: Engine, secret_file: Path, listener: Listener
    ) -> None:
        with attempt(ATTACK, f"XInclude of a {target}"):
            before = listener.connections
            href = f"file://{secret_file}" if target == "file" else listener.url
            include = f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{href}" parse="text"/>'
            xml = _in_documentation(include).encode()
            assert MARKER not in etree.tostring(parse_xml_safely(xml, LIMIT)).decode()
            try:
                row, _ = engine.definitions.deploy(db.session, Bundle("scripted.bpmn", xml, FILES), "attacker")
                db.session.commit()
            except DeployError:
                db.session.rollback()
            else:
                compiled = engine.definitions.compiled(row)
                assert MARKER not in compiled.documentation and MARKER not in row.xml
            assert listener.connections == before

    def test_a_schema_location_is_not_fetched(self, engine: Engine, listener: Listener) -> None:
        with attempt(ATTACK, "xsi:schemaLocation"):
            before = listener.connections
            hint = (
                'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                f'xsi:schemaLocation="http://www.omg.org/spec/BPMN/20100524/MODEL {listener.url}"'
            )
            xml = SCRIPTED.replace('id="scripted_definitions"', f'id="scripted_definitions" {hint}').encode()
            engine.definitions.check(Bundle("scripted.bpmn", xml, FILES), db.session)
            assert listener.connections == before

    def test_a_processing_instruction_is_dropped(self, listener: Listener) -> None:
        with attempt(ATTACK, "xml-stylesheet processing instruction"):
            stylesheet = f'<?xml-stylesheet type="text/xsl" href="{listener.url}"?>'
            root = parse_xml_safely(_with_prolog(stylesheet).encode(), LIMIT)
            assert "xml-stylesheet" not in etree.tostring(root.getroottree()).decode()


class TestOversizedDocuments:
    """Resource exhaustion without entities: a file over the size limit, more elements than MAX_ELEMENTS,
    nesting deeper than MAX_DEPTH. Each is refused with a Chinese reason before the BPMN parser runs."""

    def test_a_file_over_the_limit(self) -> None:
        with attempt(ATTACK, "oversized file"), pytest.raises(DeployError, match="超过上限"):
            parse_xml_safely(SCRIPTED.encode() + b" " * 2048, len(SCRIPTED.encode()))

    def test_too_many_elements(self) -> None:
        with attempt(ATTACK, "too many elements"), pytest.raises(DeployError, match="元素超过"):
            parse_xml_safely(_in_documentation("<b/>" * (MAX_ELEMENTS + 1)).encode(), LIMIT)

    def test_nesting_too_deep(self) -> None:
        deep = "<b>" * (MAX_DEPTH + 1) + "</b>" * (MAX_DEPTH + 1)
        with attempt(ATTACK, "nesting too deep"), pytest.raises(DeployError, match="嵌套超过"):
            parse_xml_safely(_in_documentation(deep).encode(), LIMIT)


STUDIO_PID = "studio_test"
STUDIO_DIAGRAM = (DIAGRAMS / "studio.bpmn").read_text(encoding="utf-8")
STUDIO_FILES = {
    "forms/entry.schema.json": (TESTS_ROOT / "forms" / "entry.schema.json").read_text(encoding="utf-8"),
    "forms/decision.schema.json": DECISION_FORM,
    "documents/notice.md": "---\ntitle: 测试通知书\ncopies: 1\n---\n# 测试通知书\n",
}


@pytest.fixture
def studio_procedure(engine: Engine) -> WorkflowDefinition:
    row, _ = engine.definitions.deploy(db.session, Bundle("studio.bpmn", STUDIO_DIAGRAM.encode(), STUDIO_FILES), "t")
    db.session.commit()
    return row


class TestStudioRoutes:
    """The studio's check, deploy and 试跑 (preview) routes receive the diagram as JSON text from policy
    staff: an external entity is refused with a 400 and a Chinese DOCTYPE message, and no version is stored."""

    @pytest.mark.parametrize("route", ["check", "deploy", "preview"])
    def test_an_external_entity_is_refused(
        self, route: str, studio_procedure: WorkflowDefinition, policy_client: Any, secret_file: Path
    ) -> None:
        with attempt(ATTACK, f"studio {route}: external entity"):
            prolog = f'<!DOCTYPE d [<!ENTITY xxe SYSTEM "file://{secret_file}">]>'
            xml = _with_prolog(prolog, STUDIO_DIAGRAM).replace(
                'name="流程管理测试" isExecutable', 'name="&xxe;" isExecutable'
            )
            payload = {"xml": xml, "files": STUDIO_FILES, "base_version": 1, "comment": "攻击", "last": 1}
            response = policy_client.post(f"/studio/{STUDIO_PID}/{route}", json=payload)
            body = response.get_data(as_text=True)
            assert MARKER not in body
            assert "DOCTYPE" in body
            assert response.status_code == 400 or response.get_json()["ok"] is False
            assert _versions(STUDIO_PID) == 1


def _versions(process_id: str) -> int:
    db.session.expire_all()
    query = select(func.count(WorkflowDefinition.id)).where(WorkflowDefinition.process_id == process_id)
    return int(db.session.scalar(query) or 0)
