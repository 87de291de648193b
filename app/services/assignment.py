"""Who works on a review task: claiming (签收), releasing (释放) and transferring (转办) work items."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from app.models import User, WorkItem
from app.services import audit
from app.services.audit import Actor
from app.services.errors import ServiceRefusal
from app.services.jurisdiction import visible_work_items


def claim(session: Session, user: Any, item_id: int, ip: str | None = None) -> WorkItem:
    """Take an unclaimed item; losing the race to a colleague is a refusal, not an overwrite."""
    taken = _conditional_update(session, user, item_id, WorkItem.assignee.is_(None), user.username)
    if not taken:
        raise ServiceRefusal(_lost_message(session, user, item_id, "已被他人签收"))
    return _audited(session, user, item_id, "claim", {}, ip)


def release(session: Session, user: Any, item_id: int, ip: str | None = None) -> WorkItem:
    """Give back an item the user claimed; only the assignee may release it."""
    released = _conditional_update(session, user, item_id, WorkItem.assignee == user.username, None)
    if not released:
        raise ServiceRefusal(_lost_message(session, user, item_id, "只有签收人可以释放该任务"))
    return _audited(session, user, item_id, "release", {}, ip)


def transfer(session: Session, user: Any, item_id: int, colleague_username: str, ip: str | None = None) -> WorkItem:
    """Hand an unclaimed or own item to an active colleague of the same role and office."""
    colleague = next((c for c in colleagues(session, user) if c.username == colleague_username), None)
    if colleague is None:
        raise ServiceRefusal("只能转办给本机构同一角色的在岗同事", field="colleague")
    mine_or_free = or_(WorkItem.assignee.is_(None), WorkItem.assignee == user.username)
    if not _conditional_update(session, user, item_id, mine_or_free, colleague.username):
        raise ServiceRefusal(_lost_message(session, user, item_id, "已被他人签收，不能转办"))
    detail = {"to": colleague.username, "to_name": colleague.display_name}
    return _audited(session, user, item_id, "transfer", detail, ip)


def colleagues(session: Session, user: Any) -> list[User]:
    """Active users of the same role and office, the user excluded: who an item may be transferred to."""
    if user.office_id is None:
        return []
    query = select(User).where(
        User.role == user.role, User.office_id == user.office_id, User.active.is_(True), User.id != user.id
    )
    return list(session.scalars(query.order_by(User.username)))


def _conditional_update(
    session: Session, user: Any, item_id: int, condition: ColumnElement[bool], assignee: str | None
) -> bool:
    """One UPDATE … WHERE: of two reviewers racing for an item, exactly one changes the row."""
    visible = visible_work_items(user).whereclause
    statement = (
        update(WorkItem)
        .where(WorkItem.id == item_id, condition, *([visible] if visible is not None else []))
        .values(assignee=assignee)
        .execution_options(synchronize_session=False)
    )
    changed = session.execute(statement).rowcount == 1  # type: ignore[attr-defined]
    session.expire_all()
    return changed


def _lost_message(session: Session, user: Any, item_id: int, message: str) -> str:
    if session.scalar(visible_work_items(user).where(WorkItem.id == item_id)) is None:
        return "该任务已办理或已撤销，请刷新后查看最新状态"
    return message


def _audited(
    session: Session, user: Any, item_id: int, action: str, detail: dict[str, Any], ip: str | None
) -> WorkItem:
    item = session.get(WorkItem, item_id)
    assert item is not None  # the conditional update just matched it
    actor = Actor(user.username, user.role, ip, user.office_code)
    audit.record(session, actor, action, item.instance_id, (item.task_name, item.title), detail=detail)
    session.flush()
    return item
