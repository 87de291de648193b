"""党政机关网站开办审核/资格复核, walked in a real browser from registration to the badge code.

1. A new 党政机关 registers through /register (region cascade 内蒙古自治区 → 鄂尔多斯市) and logs in.
2. Without a .政务 domain the diagram refuses the application; then the unit gets an active domain.
3. The unit applies: 初审中 on 我的申请, the step bar and the live diagram on the application page: its labels
   drawn at a readable size (the box scrolls sideways, 显示全图 shrinks it), the step open now and the stages
   written out beside it; the page also at a phone's width (390 px).
4. 鄂尔多斯市委编办 rejects: first without a reason (refused next to the field), then with one.
5. The unit reads the 不通过原因, corrects the site name and resubmits, with the keyboard alone: 初审中 again.
6. 编办 (with the keyboard alone: Tab, Space, Enter, the focus ring visible) and CONAC approve: 审核通过,
   the paper list, and the two printable PDFs; the unit brings the paper and says how (报送纸质材料):
   待提交纸质材料.
7. The 编办 of another region (东胜区) cannot open the task or the application: 404.
8. 编办 confirms the paper: 标识已发放; the badge code is issued, sent by SMS and e-mail, and shown
   on the unit's application page.
9. The 编办's 统计 page counts the application in its jurisdiction, with its charts drawn (ECharts) and the
   same numbers in tables.

Screenshots of every step go to tests/browser/screenshots/ (01-…, 02-…).
"""

from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

from flask import Flask
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import Certificate, Domain, OutboxMessage, ProcessInstance, User
from app.services.demo import DEMO_PASSWORD
from app.services.domains import add_years
from app.taskforms.formats import is_uscc, to_ascii_domain
from tests.browser.conftest import SCREENSHOTS
from tests.second_factor_login import CODE_PAGE, LIVE_APPS, fresh_code

PROCEDURE = "党政机关网站开办审核/资格复核"
REFUSAL = "需先注册并缴费 .政务 域名，且域名在有效期内，方可申请网站开办审核/资格复核"
UNIT_NAME = "鄂尔多斯市林业和草原局"
DOMAIN = "鄂尔多斯市林业和草原局.政务"
USERNAME = "ordos_lcj"
PASSWORD = "Lcj2026pass"
FIRST_SITE_NAME = "鄂尔多斯林草网"
REASON = "网站名称应与单位名称一致"
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z
WAIT_MS = 10_000


# ---- the unit's data ----------------------------------------------------------------------


def valid_uscc(region_code: str, serial: str) -> str:
    """A 统一社会信用代码 of a 机关 (登记管理部门 1, 类别 1) in the region, with the 8-character
    组织机构代码 body `serial`: its check character (0-9 or X) and the code's own last character
    are found by trying every candidate against the platform's is_uscc."""
    prefix = f"11{region_code}{serial}"
    candidates = (prefix + check + last for check in "0123456789X" for last in USCC_ALPHABET)
    return next(code for code in candidates if is_uscc(code))


def give_active_domain(live_app: Flask, username: str, name: str) -> None:
    """Put a paid, unexpired .政务 domain on the unit, straight into the database.

    Registering a domain in the browser is covered by tests/test_domain_registration.py; it only
    becomes active one working day after CONAC's 认款, which a browser journey cannot wait for.
    """
    with live_app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        assert user is not None and user.unit is not None
        today = date.today()
        db.session.add(
            Domain(
                unit_id=user.unit.id,
                name=name,
                ascii_name=to_ascii_domain(name),
                suffix="政务",
                status="active",
                years=1,
                host_mode="none",
                registered_on=today,
                expires_on=add_years(today, 1),
            )
        )
        db.session.commit()


# ---- what a person does in the browser ------------------------------------------------------


def register_unit(page: Page, *, name: str, uscc: str, username: str, password: str) -> None:
    """新用户注册 as a 党政机关 of 鄂尔多斯市 (city level: its 同级编办 is 编办:150600)."""
    page.goto("/register")
    page.get_by_label("用户类型").select_option(label="我是党政机关")
    page.get_by_label("单位名称").fill(name)
    page.get_by_label("统一社会信用代码").fill(uscc)
    page.get_by_label("单位性质").select_option("机关")
    page.get_by_label("隶属关系").select_option("市（地、州、盟）属")
    page.get_by_label("省级").select_option(label="内蒙古自治区")
    expect(page.locator("#city option", has_text="鄂尔多斯市")).to_be_attached(timeout=WAIT_MS)
    page.get_by_label("市级").select_option(label="鄂尔多斯市")
    expect(page.locator("#county option", has_text="东胜区")).to_be_attached(timeout=WAIT_MS)  # not chosen
    page.get_by_label("单位地址").fill("鄂尔多斯市康巴什区北区林草大楼")
    page.get_by_label("邮政编码").fill("017010")
    page.get_by_label("机构负责人").fill("刘局长")
    page.get_by_label("联系人", exact=True).fill("孙经办")
    page.get_by_label("手机号码").fill("13947700001")
    page.get_by_label("电子邮箱").fill("sun@lcj.example.cn")
    page.get_by_label("座机").fill("0477-8581234")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_label("确认密码").fill(password)
    page.get_by_label("我已阅读并同意《用户注册协议》").check()


def log_in(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: "/login" not in url)
    if page.url.endswith(CODE_PAGE):  # a staff account: the code from its authenticator
        with LIVE_APPS[0].app_context():
            code = fresh_code(username)
        page.get_by_label("验证码").fill(code)
        page.get_by_role("button", name="验证", exact=True).click()
    expect(page.get_by_role("button", name="退出")).to_be_visible()


def apply_for(page: Page, procedure: str) -> None:
    """我要办理 → 立即申请 on the procedure's guide."""
    page.goto("/unit/")
    page.get_by_role("region", name=procedure).get_by_role("button", name="立即申请").click()


def fill_site_application(page: Page, *, site_name: str, domain: str) -> None:
    """新开办网站审核, no own website (badge on the 网络红页), the unit's domain, intro and contact."""
    page.get_by_label("新开办网站审核").check()
    page.get_by_label("无自建网站，标识挂在网络红页").check()
    page.get_by_label("网站名称").fill(site_name)
    page.get_by_role("checkbox", name=re.compile(re.escape(domain))).check()
    page.get_by_label("网站简介").fill(
        f"本网站由{UNIT_NAME}主办，旨在介绍我单位职能、职责、人员编制，面向社会公开工作动态，"
        "促进我单位电子政务和信息化建设。"
    )
    # 选择联系人: the unit's registered contact is chosen already and fills the three fields.
    expect(page.get_by_label("联系人（经办人）姓名")).to_have_value("孙经办")
    expect(page.get_by_label("联系人手机号码")).to_have_value("13947700001")
    expect(page.get_by_label("联系人电子邮箱")).to_have_value("sun@lcj.example.cn")


def submit_form(page: Page) -> None:
    page.get_by_role("button", name="提交", exact=True).click()


def tab_to(page: Page, target: Locator, limit: int = 80) -> None:
    """Press Tab, as a keyboard user does, until the target has the focus; its focus ring must show."""
    presses = 0
    while not target.evaluate("element => element === document.activeElement"):
        assert presses < limit, f"{limit} presses of Tab did not reach the element"
        page.keyboard.press("Tab")
        presses += 1
    expect(target).to_have_css("outline-style", "solid")  # app.css: a 3 px ring on :focus-visible
    expect(target).to_have_css("outline-width", "3px")


def open_application(page: Page, business_key: str) -> None:
    page.goto(f"/unit/applications/{business_key}")
    expect(page.locator("#current-stage")).to_be_visible()


def wait_for_diagram(page: Page) -> None:
    """bpmn-js has drawn the application's diagram, marked where it stands and sized it (diagram.js)."""
    expect(page.locator(".bpmn-canvas .djs-container")).to_be_attached(timeout=WAIT_MS)
    expect(page.locator("figure[data-bpmn-diagram][data-drawn]")).to_be_attached(timeout=WAIT_MS)


def label_size(page: Page) -> float:
    """The on-screen size in px of the label of 初审 (a task of every state): font size times the drawing's zoom."""
    return page.evaluate(
        """() => { const text = document.querySelector('.bpmn-canvas [data-element-id="first_review"] text');
                   const m = text.getScreenCTM();
                   return parseFloat(getComputedStyle(text).fontSize) * Math.hypot(m.a, m.b); }"""
    )


def diagram_scrolls_sideways(page: Page) -> bool:
    return page.evaluate(
        "() => { const box = document.querySelector('[data-diagram-scroll]');"
        " return box.scrollWidth > box.clientWidth + 1; }"
    )


def stages_in_words(page: Page) -> list[str]:
    """Beside the diagram: each stage with its state written out, e.g. "初审中 当前"."""
    return [" ".join(t.split()) for t in page.locator(".stage-list li").all_inner_texts()]


def at_phone_width(page: Page, shot: Any, name: str) -> None:
    """The same page 390 px wide (a phone), screenshot, then back to the desktop's 1280."""
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    wait_for_diagram(page)
    assert label_size(page) >= 10
    shot(page, f"{name}-390")
    page.set_viewport_size({"width": 1280, "height": 900})


def open_task_from_inbox(page: Page, business_key: str) -> str:
    """待办 → the application's row; returns the task page's path."""
    page.goto("/review/")
    page.get_by_role("link", name=business_key, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    return page.url.removeprefix(page.url.split("/review/")[0])


def decide(page: Page, decision: str, reason: str = "") -> None:
    """Choose the decision on the reviewer's form, give the reason if any, and submit."""
    form = page.locator("form", has=page.get_by_role("button", name="提交", exact=True))
    form.get_by_label(decision, exact=True).check()
    if reason:
        form.locator("#field-reason").fill(reason)
    submit_form(page)


def download(page: Page, link_text: str) -> bytes:
    """Fetch what the link points to with the page's own session cookie."""
    href = page.get_by_role("link", name=link_text).get_attribute("href")
    assert href
    response = page.context.request.get(href)
    assert response.ok and response.headers["content-type"] == "application/pdf", response.status
    return response.body()


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def render_first_page(path: Path) -> Path:
    png = path.with_suffix("")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(path), str(png)], check=True
    )
    return png.with_suffix(".png")


def business_key_of(page: Page) -> str:
    match = re.search(r"/unit/applications/([A-Z]+\d+)", page.url)
    assert match, page.url
    return match.group(1)


# ---- the journey -------------------------------------------------------------------------


def test_a_new_party_organ_gets_its_website_badge(live_app: Flask, new_page: Any, shot: Any) -> None:
    unit = new_page()
    register_and_log_in(unit, shot)
    key = apply_once_a_domain_is_there(unit, live_app, shot)

    bianban = new_page()
    log_in(bianban, "bianban")
    first_review_rejects_without_then_with_a_reason(bianban, key, shot)
    unit_revises_and_resubmits(unit, key, shot)

    approve_first_and_second_review(bianban, new_page(), key, shot)
    unit_prints_the_paper_materials(unit, key, shot)

    paper_task = open_task_from_inbox(bianban, key)
    other_region_sees_nothing(new_page(), paper_task, key, shot)

    bianban_confirms_the_paper(bianban, key, shot)
    unit_sees_the_badge(unit, live_app, key, shot)
    bianban_reads_the_dashboard(bianban, shot)


def register_and_log_in(unit: Page, shot: Any) -> None:
    unit.goto("/")  # the public 办事指南 first, as a new unit does
    shot(unit, "00-public-guide")
    uscc = valid_uscc("150600", "0LCJ2026")
    assert uscc != "11110000000012343B"
    register_unit(unit, name=UNIT_NAME, uscc=uscc, username=USERNAME, password=PASSWORD)
    shot(unit, "01-register-filled")
    unit.get_by_role("button", name="同意条款，立即注册").click()
    expect(unit.get_by_role("alert")).to_contain_text(f"注册成功。请牢记您的用户名 {USERNAME}")
    shot(unit, "01-registered-login")
    log_in(unit, USERNAME, PASSWORD)
    expect(unit).to_have_url(re.compile(r"/unit/$"))
    expect(unit.get_by_role("heading", name=PROCEDURE)).to_be_visible()
    shot(unit, "02-unit-home")


def apply_once_a_domain_is_there(unit: Page, live_app: Flask, shot: Any) -> str:
    apply_for(unit, PROCEDURE)
    expect(unit.get_by_role("alert")).to_contain_text(REFUSAL)
    shot(unit, "03-refused-without-domain")

    give_active_domain(live_app, USERNAME, DOMAIN)
    apply_for(unit, PROCEDURE)
    an_unsent_application_has_no_number_and_may_be_abandoned(unit, shot)
    apply_for(unit, PROCEDURE)
    expect(unit.get_by_role("heading", name="填写开办审核/复核申请")).to_be_visible()
    fill_site_application(unit, site_name=FIRST_SITE_NAME, domain=DOMAIN)
    shot(unit, "04-application-form")
    submit_form(unit)
    expect(unit.locator("#current-stage")).to_have_text("初审中")
    key = business_key_of(unit)

    unit.get_by_role("link", name="我的申请").first.click()
    row = unit.get_by_role("row").filter(has_text=key)
    expect(row).to_contain_text("初审中")
    expect(row).to_contain_text("暂无需您办理")
    shot(unit, "05-my-applications")

    open_application(unit, key)
    expect(unit.locator("ol.steps li.current")).to_have_text(re.compile("初审中"))
    wait_for_diagram(unit)
    readable_diagram_with_the_stages_beside_it(unit, key)
    shot(unit, "06-application-first-review")
    at_phone_width(unit, shot, "06-application-first-review")
    return key


def an_unsent_application_has_no_number_and_may_be_abandoned(unit: Page, shot: Any) -> None:
    """立即申请 takes no number until the first submission; 放弃 asks first, then the application is gone."""
    expect(unit.get_by_role("heading", name="填写开办审核/复核申请")).to_be_visible()
    expect(unit.get_by_text("申请编号 提交后分配")).to_be_visible()
    shot(unit, "04-unsent-application")
    abandon = unit.get_by_role("button", name="放弃申请")
    asked: list[str] = []

    def decline(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    unit.once("dialog", decline)
    abandon.click()
    expect(abandon).to_be_visible()  # declined: nothing happened
    assert asked and asked[0].startswith("确定放弃本申请吗")
    unit.once("dialog", lambda dialog: dialog.accept())
    abandon.click()
    expect(unit.get_by_role("alert")).to_contain_text("已放弃该申请")
    expect(unit.get_by_text("还没有申请。")).to_be_visible()


def readable_diagram_with_the_stages_beside_it(unit: Page, key: str) -> None:
    """Labels of at least 10 px (they were 4 px with the diagram squeezed to the page's width); the box scrolls
    sideways with the open step in view; 显示全图 shows it whole, 适合阅读 returns."""
    expect(unit.locator(f"#diagram-{key}-current")).to_have_text("初审")
    assert stages_in_words(unit)[:3] == ["填写申请 已完成", "初审中 当前", "复审中 下一阶段"]
    assert label_size(unit) >= 10
    assert diagram_scrolls_sideways(unit)
    box = unit.locator("[data-diagram-scroll]").bounding_box()
    first_review = unit.locator('.bpmn-canvas [data-element-id="first_review"]').bounding_box()
    assert box and first_review and box["x"] <= first_review["x"] <= box["x"] + box["width"] - first_review["width"]
    unit.get_by_role("button", name="显示全图").click()
    assert not diagram_scrolls_sideways(unit)
    unit.get_by_role("button", name="适合阅读").click()
    assert label_size(unit) >= 10


def first_review_rejects_without_then_with_a_reason(bianban: Page, key: str, shot: Any) -> None:
    open_task_from_inbox(bianban, key)
    expect(bianban.get_by_role("heading", name="初审", exact=True)).to_be_visible()
    expect(bianban.get_by_text(FIRST_SITE_NAME)).to_be_visible()
    shot(bianban, "07-bianban-first-review")

    decide(bianban, "不通过")
    reason_error = bianban.locator("#field-reason-error")
    expect(reason_error).to_be_visible()
    expect(bianban.locator("#field-reason")).to_have_attribute("aria-invalid", "true")
    expect(bianban.get_by_text("当前状态：初审中")).to_be_visible()  # refused: nothing moved
    shot(bianban, "08-reject-without-reason")

    decide(bianban, "不通过", REASON)
    expect(bianban.get_by_role("alert").filter(has_text="已提交：初审")).to_be_visible()
    expect(bianban.get_by_role("link", name=key, exact=True)).to_have_count(0)


def unit_revises_and_resubmits(unit: Page, key: str, shot: Any) -> None:
    open_application(unit, key)
    expect(unit.locator("#current-stage")).to_have_text("审核不通过")
    expect(unit.locator("#rejection-reason")).to_contain_text("不通过原因")
    expect(unit.locator("#rejection-reason")).to_contain_text(REASON)
    shot(unit, "09-unit-sees-rejection")

    # The wizard with the keyboard alone: Tab to 去办理 and Enter, correct the name, Tab to 提交 and Enter.
    tab_to(unit, unit.get_by_role("link", name="去办理"))
    unit.keyboard.press("Enter")
    expect(unit.locator("#rejection-reason")).to_contain_text(REASON)
    site_name = unit.get_by_label("网站名称")
    expect(site_name).to_have_value(FIRST_SITE_NAME)
    tab_to(unit, site_name)
    unit.keyboard.press("Control+A")
    unit.keyboard.type(UNIT_NAME)
    tab_to(unit, unit.get_by_role("button", name="提交", exact=True))
    shot(unit, "10-revise-form")  # the focus ring on 提交
    unit.keyboard.press("Enter")
    expect(unit.locator("#current-stage")).to_have_text("初审中")
    expect(unit.locator("#rejection-reason")).to_have_count(0)


def approve_first_and_second_review(bianban: Page, conac: Page, key: str, shot: Any) -> None:
    open_task_from_inbox(bianban, key)
    expect(bianban.get_by_text(UNIT_NAME).first).to_be_visible()
    # The task page with the keyboard alone: Tab to 通过 and Space, Tab to 提交 and Enter.
    form = bianban.locator("form", has=bianban.get_by_role("button", name="提交", exact=True))
    approve = form.get_by_label("通过", exact=True)
    tab_to(bianban, approve)
    bianban.keyboard.press("Space")
    expect(approve).to_be_checked()
    tab_to(bianban, form.get_by_role("button", name="提交", exact=True))
    shot(bianban, "10b-bianban-approves-by-keyboard")
    bianban.keyboard.press("Enter")
    expect(bianban.get_by_role("alert").filter(has_text="已提交：初审")).to_be_visible()

    log_in(conac, "conac")
    open_task_from_inbox(conac, key)
    expect(conac.get_by_role("heading", name="复审", exact=True)).to_be_visible()
    decide(conac, "通过")
    expect(conac.get_by_role("alert").filter(has_text="已提交：复审")).to_be_visible()


def unit_prints_the_paper_materials(unit: Page, key: str, shot: Any) -> None:
    open_application(unit, key)
    expect(unit.locator("#current-stage")).to_have_text("审核通过")
    paper = unit.locator("#paper-materials")
    expect(paper).to_contain_text("一式三份")
    expect(paper).to_contain_text("《关于申请对网站开办审核和资格复核的函》")
    expect(paper).to_contain_text("《党政机关网站开办审核和资格复核申请表》")
    expect(paper).to_contain_text("身份证复印件")
    wait_for_diagram(unit)
    assert stages_in_words(unit)[3:5] == ["审核通过 当前", "待提交纸质材料 下一阶段"]
    shot(unit, "11-paper-materials")
    at_phone_width(unit, shot, "11-paper-materials")

    for number, (link, name) in enumerate((("打印申请函", "letter"), ("打印申请表", "form")), start=12):
        pdf = SCREENSHOTS / f"{number}-{name}.pdf"
        pdf.write_bytes(download(unit, link))
        text = pdf_text(pdf)
        assert UNIT_NAME in text, text
        assert DOMAIN in text, text
        assert render_first_page(pdf).stat().st_size > 0

    unit.get_by_role("link", name="去办理").click()
    expect(unit.get_by_role("heading", name="报送纸质材料", exact=True)).to_be_visible()
    unit.get_by_role("radio", name="送达同级机构编制部门").check()
    unit.get_by_role("button", name="提交", exact=True).click()
    expect(unit.locator("#current-stage")).to_have_text("待提交纸质材料")


def other_region_sees_nothing(dongsheng: Page, paper_task: str, key: str, shot: Any) -> None:
    """东胜区委编办 is a 编办 too, but the application belongs to 鄂尔多斯市委编办."""
    log_in(dongsheng, "dongsheng")
    response = dongsheng.goto(paper_task)
    assert response is not None and response.status == 404
    expect(dongsheng.get_by_role("heading", name="没有找到该任务")).to_be_visible()
    shot(dongsheng, "14-other-region-task-404")
    for what in ("diagram.xml", "progress.json", "documents/form.pdf", "documents/letter.pdf"):
        response = dongsheng.goto(f"/applications/{key}/{what}")
        assert response is not None and response.status == 404, what
    expect(dongsheng.get_by_role("heading", name="页面不存在")).to_be_visible()
    shot(dongsheng, "15-other-region-application-404")
    dongsheng.goto(f"/review/search?q={key}")
    expect(dongsheng.get_by_text("本辖区内没有找到相符的申请")).to_be_visible()
    shot(dongsheng, "15-other-region-search")


def bianban_confirms_the_paper(bianban: Page, key: str, shot: Any) -> None:
    expect(bianban.get_by_role("heading", name="确认纸质材料", exact=True)).to_be_visible()
    expect(bianban.get_by_role("radio", name="材料齐全无误")).to_be_visible()
    shot(bianban, "16-bianban-confirms-paper")
    decide(bianban, "材料齐全无误")
    expect(bianban.get_by_role("alert").filter(has_text="已提交：确认纸质材料")).to_be_visible()
    bianban.get_by_role("link", name="已办").click()
    expect(bianban.get_by_role("row").filter(has_text=key).first).to_contain_text("确认纸质材料")
    shot(bianban, "16-bianban-done")


def bianban_reads_the_dashboard(bianban: Page, shot: Any) -> None:
    bianban.get_by_role("link", name="统计", exact=True).click()
    expect(bianban.get_by_role("heading", name="统计")).to_be_visible()
    by_procedure = bianban.locator("section[aria-labelledby=by-procedure]")
    expect(by_procedure.get_by_role("row", name=PROCEDURE)).to_be_visible()
    charts = bianban.locator("[data-chart]")
    expect(charts.first.locator("canvas")).to_be_visible()  # drawn by dashboards.js
    assert charts.count() == bianban.locator("[data-chart] canvas").count() >= 5
    shot(bianban, "16-bianban-dashboard")


def unit_sees_the_badge(unit: Page, live_app: Flask, key: str, shot: Any) -> None:
    open_application(unit, key)
    expect(unit.locator("#current-stage")).to_have_text("标识已发放")
    expect(unit.locator("ol.steps li.current")).to_have_text(re.compile("标识已发放"))
    timeline = unit.locator("ol.timeline")
    expect(timeline.locator("li").filter(has_text="确认纸质材料")).to_contain_text("材料无误")
    wait_for_diagram(unit)
    assert stages_in_words(unit)[-2:] == ["待提交纸质材料 已完成", "标识已发放 当前"]
    expect(unit.locator(f"#diagram-{key}-current")).to_have_text("挂标提醒日")  # the hanging deadline runs
    shot(unit, "17-badge-issued")
    at_phone_width(unit, shot, "17-badge-issued")
    unit.get_by_role("link", name="我的申请").first.click()
    expect(unit.get_by_role("row").filter(has_text=key)).to_contain_text("标识已发放")
    shot(unit, "18-my-applications-final")
    open_application(unit, key)

    code, messages = issued_badge(live_app, key)
    assert re.fullmatch(r"CA1506002\d{3}\d{7}", code), code
    assert {m.channel for m in messages if code in m.body} == {"sms", "email"}
    expect(unit.locator(f"#badge-{code}")).to_contain_text("网站标识代码")
    shot(unit, "19-badge-code")


def issued_badge(live_app: Flask, key: str) -> tuple[str, list[OutboxMessage]]:
    """The certificate issued for the application and the notifications sent for it."""
    with live_app.app_context():
        instance = db.session.scalar(select(ProcessInstance).where(ProcessInstance.business_key == key))
        assert instance is not None
        certificate = db.session.scalar(select(Certificate).where(Certificate.instance_id == instance.id))
        assert certificate is not None and certificate.code
        messages = list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.instance_id == instance.id)))
        db.session.expunge_all()
        return certificate.code, messages
