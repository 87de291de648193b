"""What administrators manage: staff accounts and applications stuck in the `error` state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from app.engine import get_engine
from app.engine.errors import EngineError
from app.models import Office, ProcessInstance, Unit, User
from app.models.account import REVIEWER_AUDIENCE, STAFF_AUDIENCE
from app.services import accounts, audit, jurisdiction
from app.services.audit import Actor
from app.services.errors import ServiceRefusal


@dataclass(frozen=True)
class StaffAccount:
    """A reviewer, policy or admin account as the admin form submits it."""

    username: str
    display_name: str
    role: str
    password: str
    office_code: str | None = None


def users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.role, User.username)))


def staff_roles(session: Session) -> list[str]:
    """Roles an administrator may give an account: reviewers' and staff's (units register themselves)."""
    return jurisdiction.roles_by_audience(session, REVIEWER_AUDIENCE, STAFF_AUDIENCE)


def offices(session: Session) -> list[Office]:
    return list(session.scalars(select(Office).order_by(Office.kind, Office.code)))


def create_staff_account(session: Session, account: StaffAccount, actor: Actor) -> User:
    """Create the account; a reviewer must belong to an office of its own kind (编办 → a 编办 office)."""
    office = session.scalar(select(Office).where(Office.code == account.office_code)) if account.office_code else None
    if account.role not in staff_roles(session):
        raise ServiceRefusal(f"角色 {account.role} 不存在或不能由管理员直接创建", field="role")
    reviewer = account.role in jurisdiction.roles_by_audience(session, REVIEWER_AUDIENCE)
    if reviewer and office is None:
        raise ServiceRefusal("审核人员须选择所属机构", field="office")
    if office is not None and office.kind != account.role:
        raise ServiceRefusal(f"“{account.role}”账号须属于{account.role}机构，所选机构为{office.kind}", field="office")
    user = accounts.create_staff(
        session, account.username, account.password, account.role, account.display_name, account.office_code
    )
    audit.record(
        session,
        actor,
        "create_user",
        detail={"username": user.username, "role": user.role, "office": account.office_code},
    )
    return user


def user_or_none(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def reset_password(session: Session, user: User, temporary: str, actor: Actor, now: datetime) -> None:
    """Set a temporary password: the account is unlocked, signed out everywhere and must choose a new one."""
    accounts.reset_password(session, user, temporary, actor, now)


def unlock(session: Session, user: User, actor: Actor) -> None:
    accounts.unlock(session, user, actor)


def failed_instances(session: Session) -> list[Row[tuple[ProcessInstance, str]]]:
    """Applications in `error` state with their unit's name, most recently failed first."""
    query = (
        select(ProcessInstance, Unit.name)
        .join(Unit, Unit.id == ProcessInstance.unit_id)
        .where(ProcessInstance.status == "error")
        .order_by(ProcessInstance.updated_at.desc(), ProcessInstance.id.desc())
    )
    return list(session.execute(query))


def retry(instance: ProcessInstance, actor: Actor) -> ProcessInstance:
    """Replay the failed action (the runner commits and audits); a refusal or new failure is explained."""
    try:
        return get_engine().runner.retry(instance.id, actor)
    except EngineError as error:
        raise ServiceRefusal(f"重试未成功：{error.message}") from error
