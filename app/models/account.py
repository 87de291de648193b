"""Accounts: unit users, reviewers (编办 / CONAC), policy staff and administrators."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models._types import SealedText, UTCDateTime, utcnow
from app.models.org import Office, Role, Unit

# Roles the code itself serves (the rest are rows of `role`): units, policy staff and administrators,
# and the two offices of the fee procedure (编办 collects and remits, CONAC confirms: 认款).
UNIT_ROLE, BIANBAN_ROLE, CONAC_ROLE = "单位", "编办", "CONAC"
POLICY_ROLE = "政策"
# 三员 (DOMAIN.md §7.2): three separate administrator roles; an account holds at most one of them, and none
# of them reviews. System admin: accounts, offices, roles, retries, delivery; security admin: unlocks, resets,
# sessions; audit admin: reads and verifies the audit trail, and nothing else.
SYSTEM_ADMIN_ROLE, SECURITY_ADMIN_ROLE, AUDIT_ADMIN_ROLE = "系统管理员", "安全管理员", "审计管理员"
ADMIN_ROLES = (SYSTEM_ADMIN_ROLE, SECURITY_ADMIN_ROLE, AUDIT_ADMIN_ROLE)
# Which pages a role's users get (role.audience).
UNIT_AUDIENCE, REVIEWER_AUDIENCE, STAFF_AUDIENCE = "unit", "reviewer", "staff"


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(60))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    office_id: Mapped[int | None] = mapped_column(ForeignKey("office.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set by an admin's reset and on accounts an admin creates: the next login must choose a new password first.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # Second factor of a staff account (DOMAIN.md §7.1): the base32 TOTP secret (never logged), the last
    # accepted 30-second step (a code of that step or an earlier one cannot be replayed) and a JSON list of
    # argon2 hashes of the unused recovery codes. No secret: the account must enrol at its next login.
    totp_secret: Mapped[str | None] = mapped_column(SealedText("user.totp_secret"))
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    totp_recovery_hashes: Mapped[str | None] = mapped_column(Text)
    # "totp" (authenticator app) or "sms" (a code sent to `mobile`); none: not enrolled yet. The mobile a
    # staff account receives its login codes on is set by the security admin.
    second_factor_method: Mapped[str | None] = mapped_column(String(10))
    mobile: Mapped[str | None] = mapped_column(SealedText("user.mobile"))

    unit: Mapped[Unit | None] = relationship()
    office: Mapped[Office | None] = relationship()
    role_info: Mapped[Role | None] = relationship(primaryjoin="foreign(User.role) == Role.name", viewonly=True)

    @property
    def audience(self) -> str:
        """unit, reviewer or staff: which pages this account gets."""
        return self.role_info.audience if self.role_info else ""

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    @property
    def office_code(self) -> str | None:
        return self.office.code if self.office else None


class PasswordHistory(db.Model):
    """An argon2 hash of a password the account has had, so a change cannot go back to a recent one."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
