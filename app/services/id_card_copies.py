"""The 经办人身份证复印件 (electronic copy) beside the paper materials: consent, upload, audited opening, deletion.

A procedure asks for the copy with its `idCardCopyRequired` property (DOMAIN.md §8.8: policy data, per 编办
by editing the diagram). While the unit brings its paper materials it may also upload a scan, so the 编办
can check it before the paper arrives. An ID-card image is sensitive personal information (PIPL 第28–29条,
DOMAIN.md §7.8):
- the upload needs a separate consent (单独同意) given on the upload form after the purpose notice;
- the image is re-drawn as a clean JPEG (no EXIF such as GPS) and sealed at rest (SealedBytes);
- only the unit itself and the reviewers whose jurisdiction covers the application can open it, and
  every opening is an audit event;
- the worker deletes it ID_COPY_RETENTION_DAYS after the paper review (`paperReviewTask`, the element id of
  the 编办's confirmation) or after the application ended without one; the row stays as the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from app.engine import get_engine
from app.engine.definitions import CompiledDefinition
from app.models import IdCardCopy, ProcessInstance, StepRecord
from app.services import audit
from app.services.audit import Actor
from app.services.errors import ServiceRefusal
from app.services.red_page_images import clean_image

# Bumped whenever the purpose notice's wording changes: the consent records which notice it answered.
CONSENT_NOTICE_VERSION = "2026-12"
REVIEW_TASK_PROPERTY = "paperReviewTask"
SYSTEM = Actor("system", "系统")


@dataclass(frozen=True)
class CopyState:
    """What the pages show about the electronic copy of one application."""

    upload_open: bool  # the unit may (re-)upload now
    uploaded_at: datetime | None  # None before an upload and once deleted

    @property
    def viewable(self) -> bool:
        return self.uploaded_at is not None


def state(session: Session, instance: ProcessInstance, compiled: CompiledDefinition, done: list[str]) -> CopyState:
    row = _row(session, instance.id)
    return CopyState(
        upload_open=_upload_open(instance, compiled, done),
        uploaded_at=row.uploaded_at if row and row.deleted_at is None else None,
    )


def upload(session: Session, instance: ProcessInstance, actor: Actor, image: bytes, consented: bool) -> IdCardCopy:
    """Store (or replace) the copy; refused without the separate consent or outside the paper step."""
    if not consented:
        raise ServiceRefusal("上传前请阅读个人信息处理说明，并勾选单独同意", field="consent")
    compiled = get_engine().definitions.compiled_by_id(session, instance.definition_id)
    done, _current = get_engine().reader.progress(instance.id)
    if not _upload_open(instance, compiled, done):
        raise ServiceRefusal("本申请当前无需上传身份证复印件，或纸质材料已核对完毕")
    try:
        clean = clean_image(image)
    except ServiceRefusal as refusal:
        raise ServiceRefusal(refusal.message, field="image") from refusal
    row = _row(session, instance.id) or IdCardCopy(instance_id=instance.id)
    now = get_engine().runner.clock()
    row.content, row.size, row.uploaded_by, row.uploaded_at = clean.data, len(clean.data), actor.name, now
    row.consent_at, row.consent_notice, row.deleted_at = now, CONSENT_NOTICE_VERSION, None
    session.add(row)
    detail = {"bytes": row.size, "consent_notice": CONSENT_NOTICE_VERSION}
    audit.record(session, actor, "id_copy_upload", instance_id=instance.id, detail=detail)
    return row


def open_copy(session: Session, instance: ProcessInstance, actor: Actor) -> bytes | None:
    """The image for someone the caller has already found entitled to the application; every opening is audited."""
    row = _row(session, instance.id)
    if row is None or row.content is None:
        return None
    audit.record(session, actor, "id_copy_view", instance_id=instance.id)
    return row.content


def purge(session: Session, now: datetime, retention_days: int, limit: int) -> int:
    """Delete up to `limit` images whose retention ended; returns how many. Run by `flask worker` each round.

    Due copies are found in SQL, one query per procedure version that has live copies (a handful), so a round
    costs the same however many copies wait for their paper review.
    """
    cutoff = now - timedelta(days=retention_days)
    due = [*_ended_before(session, cutoff, limit)]
    for definition_id in _live_definitions(session):
        review_task = _review_task(session, definition_id)
        if review_task and len(due) < limit:
            due += _reviewed_before(session, definition_id, review_task, cutoff, limit - len(due))
    for row in due[:limit]:
        row.content, row.deleted_at = None, now
        audit.record(session, SYSTEM, "id_copy_delete", instance_id=row.instance_id, detail={"days": retention_days})
    return len(due[:limit])


def _live() -> Select[tuple[IdCardCopy]]:
    return (
        select(IdCardCopy)
        .join(ProcessInstance, ProcessInstance.id == IdCardCopy.instance_id)
        .where(IdCardCopy.deleted_at.is_(None))
    )


def _ended_before(session: Session, cutoff: datetime, limit: int) -> list[IdCardCopy]:
    """Applications that ended (rejected, withdrawn, finished) without or after the paper review."""
    ended = _live().where(ProcessInstance.status != "running", ProcessInstance.updated_at <= cutoff)
    return list(session.scalars(ended.limit(limit)))


def _reviewed_before(
    session: Session, definition_id: int, review_task: str, cutoff: datetime, limit: int
) -> list[IdCardCopy]:
    reviewed = exists().where(  # per live copy, through the step log's instance index
        StepRecord.instance_id == IdCardCopy.instance_id, StepRecord.element == review_task, StepRecord.at <= cutoff
    )
    query = _live().where(ProcessInstance.definition_id == definition_id, ProcessInstance.status == "running", reviewed)
    return list(session.scalars(query.limit(limit)))


def _live_definitions(session: Session) -> list[int]:
    return list(session.scalars(_live().with_only_columns(ProcessInstance.definition_id).distinct()))


def _review_task(session: Session, definition_id: int) -> str:
    compiled = get_engine().definitions.compiled_by_id(session, definition_id)
    return compiled.process_properties.get(REVIEW_TASK_PROPERTY, "")


def _row(session: Session, instance_id: int) -> IdCardCopy | None:
    return session.scalar(select(IdCardCopy).where(IdCardCopy.instance_id == instance_id))


def _upload_open(instance: ProcessInstance, compiled: CompiledDefinition, done: list[str]) -> bool:
    props = compiled.process_properties
    review_task = props.get(REVIEW_TASK_PROPERTY, "")
    return (
        instance.status == "running"
        and props.get("idCardCopyRequired") == "true"
        and bool(review_task)
        and review_task not in done
    )
