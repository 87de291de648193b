"""What administrators manage: staff accounts and applications stuck in the `error` state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from app.engine import get_engine
from app.engine.errors import EngineError
from app.models import Office, ProcessInstance, Unit, User
from app.models.account import ADMIN_ROLES, REVIEWER_AUDIENCE, STAFF_AUDIENCE
from app.services import accounts, audit, jurisdiction, sessions
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
    _check_role_and_office(session, account.role, account.office_code)
    _check_one_admin_role_per_person(session, account.display_name, account.role, None)
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


def change_role(session: Session, user: User, role: str, office_code: str | None, actor: Actor) -> None:
    """Give a staff account another role (and office); its sessions end so the new rights apply at once.

    三员 (DOMAIN.md §7.2): an administrator account never takes another role (not a second admin role,
    not a reviewer's), so no account ever holds two of them, even one after the other; a new duty gets a
    new account. Units' accounts keep their role: they register themselves.
    """
    if user.role in ADMIN_ROLES and role != user.role:
        raise ServiceRefusal(
            f"账号 {user.username} 已担任{user.role}；三员须由不同账号担任，不能改为{role}，请另建账号", field="role"
        )
    if user.role not in staff_roles(session):
        raise ServiceRefusal("申报单位的账号不能改为工作人员角色", field="role")
    _check_role_and_office(session, role, office_code)
    _check_one_admin_role_per_person(session, user.display_name, role, user.id)
    before = (user.role, user.office_code)
    user.role, user.office = role, _office(session, office_code)
    sessions.end_all_sessions(session, user.id)
    audit.record(
        session,
        actor,
        "change_role",
        detail={"username": user.username, "from": before[0], "to": role, "office_from": before[1],
                "office_to": office_code},
    )
    session.flush()


def _check_role_and_office(session: Session, role: str, office_code: str | None) -> None:
    """The role exists for staff; a reviewer belongs to an office of its kind, an administrator to none."""
    office = _office(session, office_code)
    if role not in staff_roles(session):
        raise ServiceRefusal(f"角色 {role} 不存在或不能由管理员直接创建", field="role")
    reviewer = role in jurisdiction.roles_by_audience(session, REVIEWER_AUDIENCE)
    if reviewer and office is None:
        raise ServiceRefusal("审核人员须选择所属机构", field="office")
    if office is not None and office.kind != role:
        raise ServiceRefusal(f"“{role}”账号须属于{role}机构，所选机构为{office.kind}", field="office")


def _check_one_admin_role_per_person(session: Session, display_name: str, role: str, user_id: int | None) -> None:
    """One person, one admin role: another account of the same name in a different admin role is refused."""
    if role not in ADMIN_ROLES:
        return
    query = select(User).where(User.display_name == display_name, User.role.in_(ADMIN_ROLES), User.role != role)
    other = session.scalar(query.where(User.id != user_id) if user_id is not None else query)
    if other is not None:
        raise ServiceRefusal(
            f"“{display_name}”已有{other.role}账号 {other.username}；三员须由不同人员担任，不能再担任{role}",
            field="role",
        )


def _office(session: Session, office_code: str | None) -> Office | None:
    return session.scalar(select(Office).where(Office.code == office_code)) if office_code else None


def end_sessions(session: Session, user: User, actor: Actor) -> int:
    """The security admin signs an account out everywhere (a lost phone, a departing colleague)."""
    ended = sessions.end_all_sessions(session, user.id)
    audit.record(session, actor, "end_sessions", detail={"username": user.username, "sessions": ended})
    return ended


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
