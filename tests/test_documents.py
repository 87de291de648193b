"""The printed documents, the live diagram and the progress of an application (blueprint `applications`).

Walked on 党政机关网站开办审核 (workflows/党政机关开办审核.bpmn) for the demo unit unit1 (鄂尔多斯市人民政府办公室):

1. Once 初审 and 复审 passed (the milestone `review_passed` 审核通过, named by the process property
   `documentsAvailableAfter`), the unit prints 《关于申请对网站开办审核和资格复核的函》 (`letter`) and
   《党政机关网站开办审核和资格复核申请表》 (`form`): PDFs with the unit, website and domain data, one per copy of
   `paperCopies` (一式三份, each page marked 第k份/共3份), the materials of `paperMaterials`/`idCardCopyRequired`
   listed under the form. Every download is audited. Before 审核通过 the PDFs are refused with the reason.
2. The documents are data files in documents/: an edited template changes the PDF without code; the copies
   and materials follow the diagram version the application runs on.
3. Another unit and a 编办 of another region find nothing (404) on every route with an application id;
   staff without a procedure role are refused (403); anonymous visitors are sent to the login.
4. diagram.xml is the XML of the instance's own definition version, also after a new version is deployed;
   progress.json lists the completed and the open element ids.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template
from flask_login import login_user
from sqlalchemy import select

from app.engine import Engine
from app.engine.errors import DeployError
from app.extensions import db
from app.models import AuditEvent, Unit, User
from app.services import applications, document_pdf, documents, regions
from app.web.applications.routes import beijing_time
from tests.conftest import APPROVE, BIANBAN, CONAC, UNIT, Application, add_domain, deploy_xml

ROOT = Path(__file__).resolve().parent.parent
DIAGRAM = ROOT / "workflows" / "党政机关开办审核.bpmn"
SCREENSHOTS = Path(__file__).resolve().parent / "browser" / "screenshots"
PROCESS = "party_site_review"
ORGAN = "鄂尔多斯市人民政府办公室"  # demo unit1
DOMAINS = [f"{ORGAN}.政务", "鄂尔多斯政府办.政务"]
FORM = {
    "application_type": "new",
    "badge_location": "own_site",
    "site_name": "鄂尔多斯市人民政府办公室门户网站",
    "domains": DOMAINS,
    "english_domain": "ordos.gov.cn",
    "server_ip": "202.96.1.10",
    "site_intro": "本网站由鄂尔多斯市人民政府办公室主办，旨在介绍我单位职能、职责、人员编制，面向社会公开工作动态。",
    "contact_name": "张经办",
    "contact_mobile": "13800138000",
    "contact_email": "zhang@example.cn",
}
PAPER_STAGE = "审核通过"  # the unit's 报送纸质材料 step is open


def pdf_text(content: bytes, tmp_path: Path, name: str = "document") -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(content)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout
    return text.replace("\n", "")  # lines wrap anywhere in Chinese text


def pdf_pages(content: bytes, tmp_path: Path) -> int:
    path = tmp_path / "pages.pdf"
    path.write_bytes(content)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))  # type: ignore[union-attr]


def screenshot(content: bytes, name: str) -> Path:
    """Page 1 as a PNG in the git-ignored tests/browser/screenshots/ (to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    source = SCREENSHOTS / f"{name}.pdf"
    source.write_bytes(content)
    prefix = SCREENSHOTS / f"{name}-page1"
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(source), str(prefix)], check=True
    )
    return prefix.with_suffix(".png")


def url(business_key: str, endpoint: str, name: str = "letter") -> str:
    return {
        "document": f"/applications/{business_key}/documents/{name}.pdf",
        "diagram_xml": f"/applications/{business_key}/diagram.xml",
        "progress": f"/applications/{business_key}/progress.json",
    }[endpoint]


@pytest.fixture
def organ(demo: dict[str, Any]) -> Unit:
    """unit1's 党政机关 with two paid, unexpired .政务 domains (and the region names, for 所在地区)."""
    regions.load(db.session)
    unit = demo["unit1"].unit
    for name in DOMAINS:
        add_domain(unit, name)
    return unit


@pytest.fixture
def submitted(organ: Unit, start: Any) -> Application:
    application = start(PROCESS, organ).complete(UNIT, FORM)
    assert application.stage == "初审中"
    return application


@pytest.fixture
def passed(submitted: Application) -> Application:
    """初审 and 复审 passed: 审核通过, the unit prints and brings the paper."""
    submitted.complete(BIANBAN, APPROVE).complete(CONAC, APPROVE)
    assert submitted.stage == PAPER_STAGE
    return submitted


def downloads(application: Application) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.instance_id == application.instance_id, AuditEvent.action == "download")
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


# ---- 1. the documents --------------------------------------------------------------------------


def test_documents_are_refused_before_review_passed(submitted: Application, login: Any) -> None:
    client = login("unit1")
    key = submitted.instance.business_key
    for name in ("letter", "form"):
        response = client.get(url(key, "document", name))
        assert response.status_code == 404
        assert "“审核通过”后方可打印" in response.get_data(as_text=True)
    assert downloads(submitted) == []


def test_the_unit_prints_the_letter_in_three_copies(passed: Application, login: Any, tmp_path: Path) -> None:
    key = passed.instance.business_key
    response = login("unit1").get(url(key, "document", "letter"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/pdf"
    assert "no-store" in response.headers["Cache-Control"]
    content = response.get_data()
    text = pdf_text(content, tmp_path)
    for expected in (
        "关于申请对网站开办审核和资格复核的函",
        "鄂尔多斯市委编办：",  # addressed to the 同级机构编制部门
        ORGAN,
        *DOMAINS,
        "ordos.gov.cn",
        "新开办网站审核",
        "我单位承诺",
        "（盖章）",
        "2026年9月28日",  # the platform clock's day, in Chinese
        *(f"第{k}份/共3份" for k in (1, 2, 3)),
    ):
        assert expected in text, expected
    assert pdf_pages(content, tmp_path) == 3
    assert screenshot(content, "letter").stat().st_size > 5_000
    (event,) = downloads(passed)
    assert (event.actor, event.role, event.detail["document"]) == ("unit1", "单位", "letter")


def test_the_form_repeats_the_application_with_materials(passed: Application, login: Any, tmp_path: Path) -> None:
    key = passed.instance.business_key
    response = login("unit1").get(url(key, "document", "form"))
    assert response.status_code == 200
    content = response.get_data()
    text = pdf_text(content, tmp_path)
    for expected in (
        "党政机关网站开办审核和资格复核申请表",
        ORGAN,
        "11110000000012343B",  # 统一社会信用代码 from the Unit row
        "机关",
        "鄂尔多斯市康巴什区市府大楼",
        "内蒙古自治区鄂尔多斯市",  # 所在地区 from the region table
        "王主任",
        "张经办",
        "13800138000",
        "zhang@example.cn",
        "鄂尔多斯市人民政府办公室门户网站",
        *DOMAINS,
        "ordos.gov.cn",
        "202.96.1.10",
        "有自建网站",
        "单位意见（盖章）",
        "机构编制部门意见",
        "《关于申请对网站开办审核和资格复核的函》一式三份",
        "经办人身份证复印件",
        key,
        *(f"第{k}份/共3份" for k in (1, 2, 3)),
    ):
        assert expected in text, expected
    assert pdf_pages(content, tmp_path) == 3  # one page per copy
    assert screenshot(content, "form").stat().st_size > 5_000
    assert [e.detail["document"] for e in downloads(passed)] == ["form"]


def test_reviewers_of_the_application_may_print_too(passed: Application, login: Any) -> None:
    key = passed.instance.business_key
    for username in ("bianban", "conac"):
        assert login(username).get(url(key, "document", "form")).status_code == 200, username
    assert [(e.actor, e.role) for e in downloads(passed)] == [("bianban", "编办"), ("conac", "CONAC")]


def test_an_unknown_document_is_not_found(passed: Application, login: Any) -> None:
    client = login("unit1")
    for name in ("receipt", "README", "..%2Fletter"):
        assert client.get(url(passed.instance.business_key, "document", name)).status_code == 404, name


def test_copies_and_materials_follow_the_diagram_version(
    passed: Application, organ: Unit, start: Any, engine: Engine, login: Any, tmp_path: Path
) -> None:
    xml = DIAGRAM.read_text(encoding="utf-8")
    edited = xml.replace('name="paperCopies" value="3"', 'name="paperCopies" value="2"').replace(
        'name="idCardCopyRequired" value="true"', 'name="idCardCopyRequired" value="false"'
    )
    assert edited != xml
    deploy_xml(engine, edited, DIAGRAM.name)
    newer = start(PROCESS, organ).complete(UNIT, FORM).complete(BIANBAN, APPROVE).complete(CONAC, APPROVE)

    client = login("unit1")
    new_text = pdf_text(client.get(url(newer.instance.business_key, "document", "form")).get_data(), tmp_path)
    assert "第2份/共2份" in new_text and "共3份" not in new_text and "身份证" not in new_text
    old_text = pdf_text(client.get(url(passed.instance.business_key, "document", "form")).get_data(), tmp_path)
    assert "第3份/共3份" in old_text and "身份证" in old_text  # the running application keeps version 1


def test_the_bianbans_paper_check_lists_the_diagrams_materials_with_links_to_the_documents(
    passed: Application, organ: Unit, start: Any, engine: Engine, login: Any
) -> None:
    passed.complete(UNIT, {"paper_delivery": "post", "paper_note": "EMS 1077"})
    xml = DIAGRAM.read_text(encoding="utf-8")
    edited = xml.replace(
        "党政机关网站开办审核和资格复核申请表\"/>", "党政机关网站开办审核和资格复核申请表;单位组织机构代码证复印件\"/>"
    )
    assert edited != xml
    deploy_xml(engine, edited, DIAGRAM.name)
    newer = start(PROCESS, organ).complete(UNIT, FORM).complete(BIANBAN, APPROVE).complete(CONAC, APPROVE)
    newer.complete(UNIT, {"paper_delivery": "in_person"})
    client = login("bianban")

    old_page, new_page = (paper_check(client, application) for application in (passed, newer))
    key = passed.instance.business_key

    for document, title in (("letter", "关于申请对网站开办审核和资格复核的函"), ("form", TITLE_FORM)):
        assert f'href="/applications/{key}/documents/{document}.pdf">《{title}》</a>' in old_page
    assert "经办人身份证复印件一份，加盖单位公章" in old_page and "报送机构：鄂尔多斯市委编办" in old_page
    assert "组织机构代码证" not in old_page  # the running application keeps version 1
    assert "<li>《单位组织机构代码证复印件》，一式三份，加盖单位公章</li>" in new_page  # brought, not printed


TITLE_FORM = "党政机关网站开办审核和资格复核申请表"


def paper_check(client: Any, application: Application) -> str:
    """The 纸质材料清单 of the 编办's open 确认纸质材料 task, whitespace collapsed."""
    (item,) = application.tasks
    assert item.task_name == "confirm_paper"
    html = client.get(f"/review/tasks/{item.id}").get_data(as_text=True)
    return re.sub(r"\s+", " ", html[html.index('id="h-paper"') :])


def repository_copy(tmp_path: Path) -> Path:
    """The procedure files (workflows/, forms/, documents/) as policy staff would check them out."""
    root = tmp_path / "repository"
    for folder in ("workflows", "forms", "documents"):
        shutil.copytree(ROOT / folder, root / folder)
    return root


def test_templates_are_data_deployed_with_the_diagram(
    passed: Application, organ: Unit, start: Any, engine: Engine, login: Any, tmp_path: Path
) -> None:
    root = repository_copy(tmp_path)
    letter = root / "documents" / "letter.md"
    letter.write_text(
        letter.read_text(encoding="utf-8").replace("特此函告，请予审核。", "特此函告，请予审核为盼。"),
        encoding="utf-8",
    )
    client = login("unit1")
    before = pdf_text(client.get(url(passed.instance.business_key, "document", "letter")).get_data(), tmp_path)
    assert "请予审核为盼" not in before  # editing the file alone changes nothing

    row, created = engine.deploy_file(root / "workflows" / DIAGRAM.name, "policy", files_root=root)
    assert created and row.files["documents/letter.md"].count("请予审核为盼") == 1
    newer = start(PROCESS, organ).complete(UNIT, FORM).complete(BIANBAN, APPROVE).complete(CONAC, APPROVE)
    new_text = pdf_text(client.get(url(newer.instance.business_key, "document", "letter")).get_data(), tmp_path)
    old_text = pdf_text(client.get(url(passed.instance.business_key, "document", "letter")).get_data(), tmp_path)
    assert "请予审核为盼" in new_text and "请予审核为盼" not in old_text
    assert [t.name for t in documents.offered(db.session, newer.instance)] == ["letter", "form"]


def test_a_broken_template_is_refused_at_deploy_and_a_missing_font_is_a_clear_error(
    passed: Application, engine: Engine, login: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = login("unit1")
    key = passed.instance.business_key
    monkeypatch.setattr(document_pdf, "FONT_DIRS", (tmp_path,))
    response = client.get(url(key, "document", "letter"))
    assert response.status_code == 500
    assert "apt-get install fonts-noto-cjk" in response.get_data(as_text=True)
    monkeypatch.undo()

    root = repository_copy(tmp_path)
    (root / "documents" / "form.json").write_text('{"title": "申请表", "columns": []}', encoding="utf-8")
    with pytest.raises(DeployError) as refused:
        engine.deploy_file(root / "workflows" / DIAGRAM.name, "policy", files_root=root)
    assert any("columns 须为正数列表" in reason for _element, reason in refused.value.problems)
    assert downloads(passed) == []


# ---- 3. who may see the application --------------------------------------------------------------


def application_urls(app: Flask, business_key: str) -> list[str]:
    """Every route of the blueprint that takes an application id, filled in; the ID-card copy's two routes are
    specified with the copy itself (tests/test_personal_data.py) and in the IDOR walk (tests/attacks)."""
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("applications.")]
    copy_routes = {"applications.id_card_copy", "applications.upload_id_card_copy"}
    assert {r.endpoint for r in rules} == {
        "applications.document", "applications.diagram_xml", "applications.progress", *copy_routes
    }  # fmt: skip
    return [
        url(business_key, r.endpoint.split(".")[1], "form")
        for r in rules
        if "business_key" in r.arguments and r.endpoint not in copy_routes
    ]


def test_outside_the_jurisdiction_every_route_is_not_found(app: Flask, passed: Application, login: Any) -> None:
    urls = application_urls(app, passed.instance.business_key)
    for username in ("unit1", "bianban", "conac"):
        client = login(username)
        assert [client.get(u).status_code for u in urls] == [200] * len(urls), username
    for username in ("unit2", "dongsheng"):  # another unit; the 编办 of another region
        client = login(username)
        assert [client.get(u).status_code for u in urls] == [404] * len(urls), username
    assert [e.actor for e in downloads(passed)] == ["unit1", "bianban", "conac"]


def test_roles_without_applications_are_refused_and_visitors_must_log_in(
    app: Flask, passed: Application, login: Any
) -> None:
    urls = application_urls(app, passed.instance.business_key)
    for username in ("policy", "admin"):
        client = login(username)
        assert [client.get(u).status_code for u in urls] == [403] * len(urls), username
    client.post("/logout")
    assert [client.get(u).status_code for u in urls] == [302] * len(urls)


# ---- 4. the live diagram -------------------------------------------------------------------------


def test_diagram_xml_is_the_instances_own_version(passed: Application, engine: Engine, login: Any) -> None:
    own = passed.instance.definition.xml
    edited = own.replace('name="审核通过"', 'name="审核已通过"')
    assert edited != own
    row, created = deploy_xml(engine, edited, DIAGRAM.name)
    assert created and row.version == 2

    client = login("unit1")
    response = client.get(url(passed.instance.business_key, "diagram_xml"))
    assert response.status_code == 200 and response.mimetype == "application/xml"
    assert response.get_data(as_text=True) == own
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_progress_marks_done_and_current_elements(submitted: Application, login: Any) -> None:
    client = login("unit1")
    key = submitted.instance.business_key
    progress = client.get(url(key, "progress")).get_json()
    assert "first_review" in progress["current"]  # (with the unit's 撤回 boundary event waiting on it)
    assert {"start", "check_domain", "fill_application", "verify_domains"} <= set(progress["done"])

    submitted.complete(BIANBAN, APPROVE).complete(CONAC, APPROVE)
    progress = client.get(url(key, "progress")).get_json()
    assert "submit_paper" in progress["current"] and "first_review" not in progress["current"]
    assert {"first_review", "second_review", "review_passed", "notify_paper"} <= set(progress["done"])
    assert not set(progress["done"]) & set(progress["current"])


def test_the_diagram_partial_uses_the_bundled_viewer(app: Flask, passed: Application) -> None:
    key = passed.instance.business_key
    with app.test_request_context():
        login_user(db.session.scalars(select(User).where(User.username == "unit1")).one())
        html = render_template("partials/diagram.html", business_key=key)
    assert f'data-xml-url="/applications/{key}/diagram.xml"' in html
    assert f'data-progress-url="/applications/{key}/progress.json"' in html
    assert "/static/vendor/bpmn-js/bpmn-viewer.production.min.js" in html
    # a labelled group, not role="img": bpmn-js puts a focusable canvas inside (axe: nested-interactive)
    assert 'role="group"' in html and "<figcaption" in html and 'aria-live="polite"' in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # no CDN
    script = (ROOT / "app" / "static" / "diagram.js").read_text(encoding="utf-8")
    assert 'addMarker(id, "done")' in script and 'addMarker(id, "current")' in script


def test_the_timeline_partial_speaks_chinese(app: Flask, passed: Application, login: Any) -> None:
    login("unit1").get(url(passed.instance.business_key, "document", "letter"))
    timeline = applications.timeline(db.session, passed.instance_id)
    with app.test_request_context():
        login_user(db.session.scalars(select(User).where(User.username == "conac")).one())
        html = render_template("partials/timeline.html", timeline=timeline)
        login_user(db.session.scalars(select(User).where(User.username == "unit1")).one())
        units_view = render_template("partials/timeline.html", timeline=timeline)
    assert "bianban-user" not in units_view and "（编办）" not in units_view and ">编办<" in units_view
    for expected in (
        "发起申请",
        "办理",
        "填写开办审核/复核申请",
        "初审",
        "复审",
        "通过",
        "下载",
        "《关于申请对网站开办审核和资格复核的函》",
    ):
        assert expected in html, expected
    assert "bianban-user（编办）" in html
    assert re.search(r">\d{4}-\d{2}-\d{2} \d{2}:\d{2}</time>", html)
    assert beijing_time(datetime(2026, 9, 28, 2, 0, tzinfo=UTC)) == "2026-09-28 10:00"
