"""The policy studio in a real browser: policy staff change 域名注册 without a programmer.

1. unit1 submits one 域名注册 application and starts another: its form is open under the old version.
2. policy logs in and lands on 流程管理; opens the editor of 域名注册.
3. In the diagram, the task 填写域名申请 is renamed 填写中文域名申请 in the properties panel.
4. In the form editor, the field 联系人姓名 becomes 经办人姓名 and a required field 经办部门 is added;
   the preview (the wizard's own rendering) shows both at once.
5. 试跑 on the last 100 applications lists the submitted one: it lacks 经办部门, which the new form
   requires; the open one keeps its path (collapsed with the unchanged).
6. 检查 runs bpmnlint and the server's deploy check: 服务器检查通过. 部署 with a comment: v2.
7. The version list shows who deployed v2 and why; compare v1 → v2 marks the changes.
8. 迁移在办申请 to v2: the submitted application is chosen, 试算 says it can move, it moves after a
   confirmation, and the move is undone from the 迁移记录.
9. unit1 starts a new application: it shows the new task name and fields; the old application keeps
   the old ones.

Screenshots of every studio page go to tests/browser/screenshots/studio-*.png.
"""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.test_site_review_journey import apply_for, business_key_of, log_in, submit_form

WAIT_MS = 15_000
PROCEDURE = "域名注册"
COMMENT = "申请表：联系人改称经办人，增加经办部门（必填）"


def submit_an_application(unit: Page) -> str:
    """A 域名注册 application submitted under v1, waiting for the 编办: its number."""
    apply_for(unit, PROCEDURE)
    unit.get_by_label("中文域名").fill("鄂尔多斯市试跑测试局.政务")  # the contact comes from the unit's contacts
    unit.get_by_label("无IP地址和网站网址（使用网络红页）").check()
    submit_form(unit)
    expect(unit.locator("#current-stage")).to_be_visible()
    return business_key_of(unit)


def open_editor(page: Page) -> None:
    page.get_by_role("row", name=PROCEDURE).get_by_role("link", name="编辑").click()
    expect(page.locator("#studio-editor.studio-ready")).to_be_attached(timeout=WAIT_MS)


def select_two(page: Page, first: str, second: str) -> None:
    """A multi-selection: its context pad must not bring anything the page's CSP blocks (the fixture checks)."""
    page.locator(f'[data-element-id="{first}"]').first.click()
    page.locator(f'[data-element-id="{second}"]').first.click(modifiers=["Shift"])
    expect(page.locator(".djs-context-pad .entry")).to_have_count(1)  # 删除 only
    page.keyboard.press("Escape")


def rename_task(page: Page, element_id: str, name: str) -> None:
    page.locator(f'[data-element-id="{element_id}"]').first.click()
    box = page.get_by_label("名称", exact=True)
    expect(box).to_have_value("填写域名申请")
    box.fill(name)
    box.press("Tab")


def edit_the_form(page: Page) -> None:
    page.get_by_role("tab", name="表单").click()
    page.get_by_role("button", name="domain-application.schema.json").click()
    title = page.locator('[data-field-title="contact_name"]')
    title.fill("经办人姓名")
    title.press("Tab")
    page.get_by_role("button", name="＋ 添加字段").click()
    name = page.locator(".studio-field").last.get_by_label("字段名")
    name.fill("department")
    name.press("Tab")
    page.locator('[data-field-title="department"]').fill("经办部门")
    page.locator('[data-field-title="department"]').press("Tab")
    page.locator('[data-field-required="department"]').check()
    preview = page.locator("[data-form-preview]")
    expect(preview.get_by_label("经办人姓名")).to_be_attached(timeout=WAIT_MS)
    expect(preview.locator("label.required", has_text="经办部门")).to_be_attached(timeout=WAIT_MS)


def preview_on_past_applications(page: Page, shot: Any, submitted: str) -> None:
    """试跑 before deploying: the submitted application lacks the new required field; the open one (it has
    not filled the form yet) is among the unchanged."""
    page.get_by_role("button", name="试跑…").click()
    dialog = page.get_by_role("dialog", name="试跑：用已办申请检验修改")
    expect(dialog.get_by_label("最近多少件申请")).to_have_value("100")
    dialog.get_by_role("button", name="开始试跑").click()
    row = dialog.locator(f'[data-replay-key="{submitted}"]')
    expect(row).to_contain_text("缺少新表单要求的数据", timeout=WAIT_MS)
    expect(row).to_contain_text("“填写中文域名申请”缺少经办部门")
    expect(dialog.get_by_role("button", name="开始试跑")).to_be_enabled()
    dialog.locator("[data-replay-unchanged] summary").click()
    expect(dialog.locator("[data-replay-unchanged] .studio-keys span").first).to_contain_text("（v1）")
    shot(page, "studio-03-preview")
    dialog.get_by_role("button", name="关闭").last.click()
    expect(dialog).to_be_hidden()


def migrate_and_undo(page: Page, shot: Any, submitted: str) -> None:
    """迁移在办申请 → v2: choose one, 试算, 迁移 after a confirmation; then 撤销 it from the 迁移记录."""
    page.get_by_role("link", name="返回版本记录").click()
    page.get_by_role("row", name="v2").get_by_role("link", name="迁移在办申请").click()
    expect(page.get_by_role("heading", name="把在办申请迁移到 v2")).to_be_visible()
    page.get_by_label(submitted).check()
    shot(page, "studio-14-migrate-choose")
    page.get_by_role("button", name="试算所选").click()
    verdict = page.locator(f'[data-verdict="{submitted}"]')
    expect(verdict).to_contain_text("可以迁移")
    page.get_by_role("button", name="迁移所选…").click()
    confirm = page.get_by_role("dialog", name="确认迁移到 v2？")
    expect(confirm.locator("[data-chosen-list]")).to_have_text(submitted)
    expect(confirm.locator(".modal-dialog")).to_have_css("transform", "none")
    shot(page, "studio-15-migrate-confirm")
    confirm.get_by_role("button", name="确认迁移").click()
    expect(page.locator("[data-migration-summary]")).to_contain_text("已迁移 1 件申请到 v2")
    expect(verdict).to_contain_text("已迁移")
    page.get_by_role("link", name="查看迁移记录").click()
    move = page.locator(f'[data-move="{submitted}"]')
    expect(move).to_contain_text("v1 → v2")
    move.get_by_role("button", name="撤销").click()
    undo = page.get_by_role("dialog", name=f"撤销 {submitted} 的迁移？")
    expect(undo.locator(".modal-dialog")).to_have_css("transform", "none")
    shot(page, "studio-16-undo-dialog")
    undo.get_by_role("button", name="确认撤销").click()
    expect(page.get_by_role("alert").filter(has_text=f"已撤销申请 {submitted} 的迁移")).to_be_visible()
    expect(move).to_contain_text("已由 policy 于")
    shot(page, "studio-17-migrations")


def check_and_deploy(page: Page, shot: Any) -> None:
    page.get_by_role("tab", name="流程图").click()
    page.get_by_role("button", name="检查").click()
    expect(page.locator("[data-server-state=ok]")).to_have_text("服务器检查通过", timeout=WAIT_MS)
    shot(page, "studio-04-checked")
    page.get_by_role("button", name="部署…").click()
    dialog = page.get_by_role("dialog", name="部署为新版本")
    expect(dialog.get_by_text("v2")).to_be_visible()
    dialog.get_by_label("部署说明").fill(COMMENT)
    shot(page, "studio-05-deploy-dialog")
    dialog.get_by_role("button", name="确认部署").click()
    expect(page.locator("[data-editor-message]")).to_contain_text("已部署为 v2", timeout=WAIT_MS)
    expect(dialog).to_be_hidden()
    expect(page.locator(".modal-backdrop")).to_have_count(0)


def review_the_versions(page: Page, shot: Any) -> None:
    """The version list (who, when, why), the roll-back confirmation, the comparison and a stored version."""
    page.get_by_role("link", name="查看版本记录").click()
    row = page.get_by_role("row", name="v2")
    expect(row).to_contain_text(COMMENT)
    expect(row).to_contain_text("policy")
    shot(page, "studio-07-versions")
    page.get_by_role("row", name="v1").get_by_role("button", name="回滚").click()
    rollback = page.get_by_role("dialog", name="回滚到 v1？")
    expect(rollback).to_have_css("opacity", "1")
    expect(rollback.locator(".modal-dialog")).to_have_css("transform", "none")  # the fade-in has ended
    shot(page, "studio-07-rollback-dialog")
    rollback.get_by_role("button", name="取消").click()
    expect(rollback).to_be_hidden()
    page.get_by_role("button", name="比较所选版本").click()
    expect(page.get_by_role("heading", name="比较 v1 → v2")).to_be_visible()
    expect(page.locator(".studio-changed").first).to_be_attached(timeout=WAIT_MS)
    expect(page.get_by_text("字段 contact_name 的标题：联系人姓名 → 经办人姓名")).to_be_visible()
    shot(page, "studio-08-compare")
    page.go_back()
    page.get_by_role("row", name="v1").get_by_role("link", name="查看").click()
    expect(page.locator(".bpmn-canvas .djs-element").first).to_be_attached(timeout=WAIT_MS)
    page.locator('[data-element-id="fill_application"]').first.click()
    expect(page.locator("[data-element-details]")).to_contain_text("填写域名申请")
    shot(page, "studio-09-version")


def test_policy_staff_change_a_procedure_and_new_applications_follow(new_page: Any, shot: Any) -> None:
    unit = new_page()
    log_in(unit, "unit1")
    submitted = submit_an_application(unit)
    apply_for(unit, PROCEDURE)
    expect(unit.get_by_role("heading", name="填写域名申请")).to_be_visible()
    old_application = unit.url

    policy = new_page()
    log_in(policy, "policy")
    expect(policy).to_have_url(f"{policy.url.split('/studio')[0]}/studio/")
    expect(policy.get_by_role("row", name=PROCEDURE)).to_contain_text("v1")
    shot(policy, "studio-01-procedures")

    open_editor(policy)
    shot(policy, "studio-02-editor")
    select_two(policy, "reserve_domain", "fill_application")
    rename_task(policy, "fill_application", "填写中文域名申请")
    expect(policy.locator('[data-element-id="fill_application"]').first).to_contain_text("填写中文域名申请")
    shot(policy, "studio-02-panel")
    edit_the_form(policy)
    shot(policy, "studio-03-forms")
    policy.get_by_role("tab", name="流程图").click()
    preview_on_past_applications(policy, shot, submitted)
    check_and_deploy(policy, shot)
    shot(policy, "studio-06-deployed")

    review_the_versions(policy, shot)
    migrate_and_undo(policy, shot, submitted)

    apply_for(unit, PROCEDURE)
    expect(unit.get_by_role("heading", name="填写中文域名申请")).to_be_visible()
    expect(unit.get_by_label("经办人姓名")).to_be_visible()
    expect(unit.locator("label.required", has_text="经办部门")).to_be_visible()
    unit.goto(old_application)
    expect(unit.get_by_role("heading", name="填写域名申请")).to_be_visible()
    expect(unit.get_by_label("联系人姓名")).to_be_visible()
    expect(unit.get_by_text("经办部门")).to_have_count(0)


def test_print_templates_and_notification_texts_are_previewed(new_page: Any, shot: Any) -> None:
    """文书与通知: the 申请函 template previews with sample data; a notification's text previews in the panel."""
    policy = new_page()
    log_in(policy, "policy")
    policy.get_by_role("row", name="党政机关网站开办审核/资格复核").get_by_role("link", name="编辑").click()
    expect(policy.locator("#studio-editor.studio-ready")).to_be_attached(timeout=WAIT_MS)
    policy.get_by_role("tab", name="文书与通知").click()
    preview = policy.locator("[data-text-preview]")
    expect(preview).to_contain_text("关于申请对网站开办审核和资格复核的函", timeout=WAIT_MS)
    expect(preview).to_contain_text("鄂尔多斯市人民政府办公室")
    shot(policy, "studio-10-documents")

    notices = policy.locator("[data-text-list] .list-group").last.get_by_role("button")
    notices.first.click()
    panel = policy.locator("[data-panel]")
    expect(panel.get_by_label("服务操作")).to_have_value("notify.send", timeout=WAIT_MS)
    panel.get_by_role("button", name="预览").first.click()
    shown = panel.locator(".studio-preview-text").first
    expect(shown).to_have_text("网站开办审核/资格复核申请初审未通过", timeout=WAIT_MS)
    shown.scroll_into_view_if_needed()
    shot(policy, "studio-11-notification")

    policy.locator('[data-element-id="flow_first_reject_label"]').click()
    condition = panel.get_by_label("条件")
    expect(condition).to_have_value('decision == "reject"')
    condition.evaluate("box => box.setSelectionRange(box.value.length, box.value.length)")
    condition.press("End")
    condition.type(" and ")
    panel.get_by_label("插入名称").select_option("unit_type")
    expect(condition).to_have_value('decision == "reject" and unit_type')
    shot(policy, "studio-12-condition")

    lane = policy.locator('[data-element-id="lane_bianban"]')
    box = lane.bounding_box()
    assert box is not None
    lane.click(position={"x": 10, "y": box["height"] / 2})  # the lane's name band, whatever the zoom
    expect(panel.get_by_label("办理角色（泳道名称）")).to_have_value("编办")
    expect(panel.get_by_label("分派给哪个机构")).to_be_visible()
    shot(policy, "studio-13-lane")
