"""Which administrator (三员) opens which admin page: one table for every admin blueprint.

An endpoint missing from the table is refused to everyone, so a page added later stays closed until it
is given to a role here (tests/test_admin_roles.py walks the url_map against this table).
"""

from __future__ import annotations

from flask import Blueprint, abort, request
from flask_login import current_user

from app.extensions import login_manager
from app.models.account import ADMIN_ROLES, AUDIT_ADMIN_ROLE, SECURITY_ADMIN_ROLE, SYSTEM_ADMIN_ROLE

SYSTEM, SECURITY, AUDIT = (SYSTEM_ADMIN_ROLE,), (SECURITY_ADMIN_ROLE,), (AUDIT_ADMIN_ROLE,)
ADMIN_PAGES: dict[str, tuple[str, ...]] = {
    "admin.index": ADMIN_ROLES,
    "admin.list_users": SYSTEM + SECURITY,
    "admin.create_user": SYSTEM,
    "admin.change_role": SYSTEM,
    "admin.list_roles": SYSTEM,
    "admin.list_offices": SYSTEM,
    "admin.list_errors": SYSTEM,
    "admin.retry_instance": SYSTEM,
    "admin_delivery.outbox": SYSTEM,
    "admin_delivery.retry": SYSTEM,
    "admin_delivery.sms_records": SYSTEM,
    "admin.unlock_user": SECURITY,
    "admin.reset_password": SECURITY,
    "admin.end_sessions": SECURITY,
    "admin.reset_second_factor": SECURITY,
    "admin.set_mobile": SECURITY,
    "admin_audit.trail": AUDIT,
    "admin_audit.verify": AUDIT,
}
# Where each administrator lands after login and on /admin/.
HOME_BY_ADMIN_ROLE = {
    SYSTEM_ADMIN_ROLE: "admin.list_users",
    SECURITY_ADMIN_ROLE: "admin.list_users",
    AUDIT_ADMIN_ROLE: "admin_audit.trail",
}


def may_open(endpoint: str) -> bool:
    """Whether the logged-in account's admin role opens `endpoint` (templates hide what it cannot)."""
    return current_user.is_authenticated and current_user.role in ADMIN_PAGES.get(endpoint, ())


def admin_gate(blueprint: Blueprint) -> None:
    """Every route of `blueprint` requires a login whose admin role the table gives the endpoint; others get 403."""

    @blueprint.before_request
    def _check_admin_role() -> object:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not may_open(request.endpoint or ""):
            abort(403)
        return None
