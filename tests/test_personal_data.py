"""Personal data at rest and on display (DOMAIN.md §7.5, §7.8; issue 12 item 5).

1. Mobiles, second-factor secrets, notification recipients and everything a form collects (the workflow
   state, drafts, the step log) are stored sealed: SM4-GCM by default, AES-256-GCM on request, with the
   key outside the database. A value does not open in another column, and an edited value does not open.
2. Keys rotate: a new key is put first, `flask crypto rotate` re-seals every value under it, and the old key
   can then be removed. Production refuses to start without keys from the environment.
3. The 经办人身份证复印件 may be uploaded, as a scan beside the paper materials, only with a separate consent
   after the purpose notice; only the unit and the reviewers of the application open it, each opening is
   audited; it is deleted ID_COPY_RETENTION_DAYS after the 编办 confirmed the paper.
4. Pages for those who do not need them show mobiles masked; e-mails and SMS carry no mobile or ID number.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from PIL import Image
from sqlalchemy import select, text

from app import create_app, field_encryption
from app.extensions import db
from app.field_encryption import FieldKeyError, Keyring, new_key, parse_keys
from app.models import AuditEvent, Contact, Domain, IdCardCopy, OutboxMessage, ProcessInstance, StepRecord, Unit
from app.services import id_card_copies, key_rotation
from app.services.masking import mask_text
from tests.conftest import APPROVE, BIANBAN, CONAC, UNIT, Application, Clock, add_domain

PROCESS = "party_site_review"
MOBILE = "13912345678"


@pytest.fixture
def keyring_restored(app: Flask) -> Iterator[Keyring]:
    """The app's keyring, put back after a test that swaps keys."""
    original = field_encryption.active_keyring()
    yield original
    use_keys(app, original)


def use_keys(app: Flask, keyring: Keyring) -> None:
    """What a restart with another FIELD_ENCRYPTION_KEYS setting does."""
    app.extensions[field_encryption.KEYRING_EXTENSION] = keyring


def stored(column: str, table: str, row_id: int) -> str:
    return db.session.execute(text(f'SELECT {column} FROM "{table}" WHERE id = :id'), {"id": row_id}).scalar_one()


def site_application(unit: Unit) -> dict[str, Any]:
    domain = db.session.scalars(select(Domain).where(Domain.unit_id == unit.id)).first() or add_domain(
        unit, f"{unit.name}.政务"
    )
    return {
        "application_type": "new",
        "badge_location": "red_page",
        "site_name": unit.name,
        "domains": [domain.name],
        "site_intro": "本网站介绍本单位职能、职责和机构设置，面向社会公开工作动态和政务信息。",
        "contact_name": "张经办",
        "contact_mobile": MOBILE,
        "contact_email": "zhang@example.cn",
    }


def png(width: int = 60, height: int = 40) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "#cc3333").save(out, format="PNG")
    return out.getvalue()


# ---- sealed at rest -------------------------------------------------------------------------------


def test_form_data_mobiles_and_second_factor_secrets_are_stored_sealed(
    demo: dict[str, Any], start: Any, clock: Clock
) -> None:
    unit = db.session.get(Unit, demo["unit1"].unit_id)
    application = start(PROCESS, unit, site_application(unit))
    application.complete(UNIT, site_application(unit))
    contact = unit.contacts[0]
    staff = demo["bianban"]

    for table, column, row_id in (
        ("process_instance", "state", application.instance_id),
        ("contact", "mobile", contact.id),
        ("user", "totp_secret", staff.id),
    ):
        value = stored(column, table, row_id)
        assert value.startswith(f"pd1.{field_encryption.active_keyring().current.key_id}."), (table, column)
        assert MOBILE not in value and contact.mobile not in value
    steps = db.session.scalars(select(StepRecord.id).where(StepRecord.instance_id == application.instance_id))
    for step_id in steps:
        assert stored("data", "step_record", step_id).startswith("pd1.")

    db.session.expire_all()  # read back through the model: the plain values
    assert application.data()["contact_mobile"] == MOBILE
    assert db.session.get(Contact, contact.id).mobile == contact.mobile


def test_a_sealed_value_opens_only_in_its_own_column_and_only_unedited(demo: dict[str, Any]) -> None:
    keyring = field_encryption.active_keyring()
    sealed = keyring.seal(MOBILE.encode(), "contact.mobile")

    assert keyring.unseal(sealed, "contact.mobile") == MOBILE.encode()
    with pytest.raises(FieldKeyError, match="密文校验失败"):
        keyring.unseal(sealed, "domain.contact_mobile")  # copied into another column
    body = sealed.rsplit(".", 1)[1]
    edited = sealed[: -len(body)] + ("A" if body[0] != "A" else "B") + body[1:]
    with pytest.raises(FieldKeyError, match="密文校验失败"):
        keyring.unseal(edited, "contact.mobile")
    assert keyring.seal(MOBILE.encode(), "contact.mobile") != sealed  # a fresh nonce each time


@pytest.mark.parametrize("algorithm", ["SM4-GCM", "AES-256-GCM"])
def test_both_algorithms_seal_and_open(algorithm: str) -> None:
    keyring = Keyring([new_key("k9", algorithm)])
    assert keyring.unseal(keyring.seal(b"110105194912310029", "t.c"), "t.c") == b"110105194912310029"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("k1:DES:AAAA", "不支持的算法"),
        ("k1:SM4-GCM:" + "A" * 44, "SM4-GCM 的密钥应为 16 字节"),
        ("k1:SM4-GCM", "格式应为"),
        ("bad id:SM4-GCM:AAAAAAAAAAAAAAAAAAAAAA==", "密钥编号"),
    ],
)
def test_a_malformed_key_setting_is_refused_in_chinese(setting: str, message: str) -> None:
    with pytest.raises(FieldKeyError, match=message):
        parse_keys(setting)


def test_production_refuses_to_start_without_keys_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.delenv("FIELD_ENCRYPTION_KEYS", raising=False)
    with pytest.raises(FieldKeyError, match="FIELD_ENCRYPTION_KEYS"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_keys_rotate_and_the_old_key_can_then_be_removed(
    app: Flask, demo: dict[str, Any], start: Any, keyring_restored: Keyring
) -> None:
    unit = db.session.get(Unit, demo["unit1"].unit_id)
    application = start(PROCESS, unit, site_application(unit))
    old = keyring_restored.current
    fresh = new_key("k2026b", "AES-256-GCM")
    use_keys(app, Keyring([fresh, old]))  # step 1: the new key first, the old one still listed

    runner = app.test_cli_runner()
    before: Result = runner.invoke(args=["crypto", "status"])
    assert f"process_instance.state: {old.key_id}" in before.output
    rotated = runner.invoke(args=["crypto", "rotate"])  # step 2
    assert rotated.exit_code == 0, rotated.output
    usage = key_rotation.key_usage(db.session)
    assert usage["process_instance.state"] == {fresh.key_id: 1}
    assert all(set(counts) <= {fresh.key_id} for counts in usage.values())
    assert runner.invoke(args=["crypto", "rotate"]).output.strip() == "已用当前密钥重新加密 0 个值"  # idempotent

    use_keys(app, Keyring([fresh]))  # step 3: the old key is gone
    db.session.expire_all()
    assert application.data()["contact_mobile"] == MOBILE
    assert db.session.get(Contact, unit.contacts[0].id).mobile == unit.contacts[0].mobile


def test_new_key_prints_an_entry_for_the_setting(app: Flask) -> None:
    printed = app.test_cli_runner().invoke(args=["crypto", "new-key", "k2027"]).output.strip()
    (key,) = parse_keys(printed)
    assert (key.key_id, key.algorithm, len(key.secret)) == ("k2027", "SM4-GCM", 16)


# ---- the ID-card copy -------------------------------------------------------------------------------


@pytest.fixture
def at_paper_step(demo: dict[str, Any], start: Any, clock: Clock) -> Application:
    """demo unit1's 开办审核 after both reviews: its own step 报送纸质材料 is open."""
    clock.set("2026-09-28 10:00")
    unit = db.session.get(Unit, demo["unit1"].unit_id)
    application = start(PROCESS, unit, site_application(unit))
    application.complete(UNIT, site_application(unit)).complete(BIANBAN, APPROVE).complete(CONAC, APPROVE)
    assert application.stage == "审核通过"
    return application


def upload(client: Any, key: str, consent: bool = True, image: bytes | None = None) -> Any:
    form: dict[str, Any] = {"image": (io.BytesIO(image or png()), "id.png")}
    if consent:
        form["consent"] = "yes"
    return client.post(f"/applications/{key}/id-card-copy", data=form, content_type="multipart/form-data")


def audit_actions(instance_id: int) -> list[tuple[str, str]]:
    query = select(AuditEvent.action, AuditEvent.actor).where(
        AuditEvent.instance_id == instance_id, AuditEvent.action.like("id_copy_%")
    )
    return [tuple(row) for row in db.session.execute(query.order_by(AuditEvent.id))]


def test_the_unit_sees_the_purpose_notice_and_cannot_upload_without_separate_consent(
    at_paper_step: Application, login: Any
) -> None:
    key = at_paper_step.instance.business_key
    client = login("unit1")

    page = client.get(f"/unit/applications/{key}").get_data(as_text=True)
    assert "个人信息处理说明" in page and "单独同意" in page and 'name="consent"' in page

    refused = upload(client, key, consent=False)
    assert refused.status_code == 302
    assert "上传前请阅读个人信息处理说明，并勾选单独同意" in client.get(refused.location).get_data(as_text=True)
    assert db.session.scalars(select(IdCardCopy)).all() == []

    not_an_image = upload(client, key, image=b"%PDF-1.7 not an image")
    assert "不是有效的 JPG 或 PNG 图片" in client.get(not_an_image.location).get_data(as_text=True)
    assert db.session.scalars(select(IdCardCopy)).all() == []


def test_the_copy_is_sealed_opened_only_by_the_unit_and_its_reviewers_and_every_opening_is_audited(
    at_paper_step: Application, login: Any, demo: dict[str, Any]
) -> None:
    key, instance_id = at_paper_step.instance.business_key, at_paper_step.instance_id
    client = login("unit1")
    assert upload(client, key).status_code == 302

    copy = db.session.scalars(select(IdCardCopy)).one()
    assert stored("content", "id_card_copy", copy.id).startswith("pd1.")
    assert copy.consent_notice == id_card_copies.CONSENT_NOTICE_VERSION and copy.consent_at is not None
    assert copy.content is not None and copy.content.startswith(b"\xff\xd8\xff")  # re-drawn as a clean JPEG

    for username in ("bianban", "conac", "unit1"):
        viewer = login(username)
        response = viewer.get(f"/applications/{key}/id-card-copy.jpg")
        assert response.status_code == 200, username
        assert response.mimetype == "image/jpeg"
        assert "no-store" in response.headers["Cache-Control"]
    assert login("dongsheng").get(f"/applications/{key}/id-card-copy.jpg").status_code == 404  # another region
    assert login("admin").get(f"/applications/{key}/id-card-copy.jpg").status_code in (302, 403)

    assert audit_actions(instance_id) == [
        ("id_copy_upload", "unit1"),
        ("id_copy_view", "bianban"),
        ("id_copy_view", "conac"),
        ("id_copy_view", "unit1"),
    ]


def test_the_copy_is_deleted_the_set_number_of_days_after_the_paper_review(
    app: Flask, at_paper_step: Application, login: Any, clock: Clock
) -> None:
    key, instance_id = at_paper_step.instance.business_key, at_paper_step.instance_id
    upload(login("unit1"), key)
    at_paper_step.complete(UNIT, {"paper_delivery": "in_person"}).complete(BIANBAN, {"decision": "ok"})
    assert at_paper_step.stage == "标识已发放"
    days = int(app.config["ID_COPY_RETENTION_DAYS"])
    reviewed = clock.now

    client = login("unit1")
    refused = upload(client, key)  # the paper is checked: no more uploads
    assert "纸质材料已核对完毕" in client.get(refused.location).get_data(as_text=True)

    assert id_card_copies.purge(db.session, reviewed + timedelta(days=days) - timedelta(minutes=1), days, 50) == 0
    assert id_card_copies.purge(db.session, reviewed + timedelta(days=days), days, 50) == 1
    db.session.commit()

    copy = db.session.scalars(select(IdCardCopy)).one()
    assert copy.content is None and copy.deleted_at == reviewed + timedelta(days=days)
    assert stored("content", "id_card_copy", copy.id) is None
    assert audit_actions(instance_id)[-1] == ("id_copy_delete", "system")
    assert login("bianban").get(f"/applications/{key}/id-card-copy.jpg").status_code == 404


def test_a_procedure_without_the_id_copy_offers_no_upload(at_paper_step: Application, login: Any) -> None:
    """idCardCopyRequired is the diagram's (seed 004: some 编办 want none); the upload follows it."""
    compiled = at_paper_step.engine.definitions.compiled_by_id(db.session, at_paper_step.instance.definition_id)
    assert compiled.process_properties["idCardCopyRequired"] == "true"
    compiled.process_properties["idCardCopyRequired"] = "false"
    try:
        key = at_paper_step.instance.business_key
        client = login("unit1")
        assert 'name="consent"' not in client.get(f"/unit/applications/{key}").get_data(as_text=True)
        assert "当前无需上传身份证复印件" in client.get(upload(client, key).location).get_data(as_text=True)
    finally:
        compiled.process_properties["idCardCopyRequired"] = "true"


# ---- on display and in messages -----------------------------------------------------------------------


def test_messages_carry_no_mobile_or_id_number_and_admin_pages_show_them_masked(
    at_paper_step: Application, login: Any
) -> None:
    messages = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.instance_id == at_paper_step.instance_id)
    ).all()
    assert messages
    for message in messages:
        assert mask_text(message.body) == message.body and mask_text(message.subject) == message.subject
        assert stored("recipient", "outbox_message", message.id).startswith("pd1.")

    outbox_page = login("admin").get("/admin/outbox").get_data(as_text=True)
    assert MOBILE not in outbox_page and "139****5678" in outbox_page
    assert db.session.scalars(select(ProcessInstance)).first() is not None
