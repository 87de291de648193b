"""Access gates: one per blueprint (login + role), and the acting user as an engine Actor."""

from __future__ import annotations

from flask import Blueprint, abort, request
from flask_login import current_user

from app.extensions import login_manager
from app.services.audit import Actor


def gate(blueprint: Blueprint, *roles: str, audiences: tuple[str, ...] = ()) -> None:
    """Every route of `blueprint` requires a login with one of `roles`, or a role of one of `audiences`
    (unit, reviewer, staff: roles are data, so a new reviewing role gets the reviewer pages); others get 403."""

    @blueprint.before_request
    def _check_role() -> object:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role not in roles and current_user.audience not in audiences:
            abort(403)
        return None


def current_actor() -> Actor:
    return Actor(
        name=current_user.username, role=current_user.role, ip=request.remote_addr, office_code=current_user.office_code
    )
