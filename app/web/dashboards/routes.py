"""统计 (编办 and CONAC): applications by procedure, stage and region, overdue reviews and badges, time per
stage, registrations and fees per month, for the reader's jurisdiction over whole Beijing months.

Each figure is drawn by app/static/dashboards.js (ECharts) from the JSON in its chart's data attribute, and
listed in a table of the same numbers under it. Other roles get 403; a 编办 sees only its jurisdiction.
"""

from __future__ import annotations

from datetime import date, datetime

from flask import Blueprint, abort, flash, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from app.engine import get_engine
from app.extensions import db
from app.models.account import BIANBAN_ROLE, CONAC_ROLE
from app.services import dashboards
from app.services.calendar import to_beijing_date
from app.web.access import gate

blueprint = Blueprint("dashboards", __name__, url_prefix="/dashboard")
gate(blueprint, BIANBAN_ROLE, CONAC_ROLE)  # and an office of that role: dashboards.scope_for


@blueprint.get("/")
def show() -> str:
    scope = dashboards.scope_for(db.session, current_user)
    if scope is None:
        abort(403)
    now = get_engine().runner.clock()
    period = _period(to_beijing_date(now))
    dashboard = dashboards.build(db.session, scope, period, now)
    return render_template("dashboards/show.html", dashboard=dashboard, max_months=dashboards.MAX_MONTHS)


def _period(today: date) -> dashboards.Period:
    """The months asked for (?from=YYYY-MM&to=YYYY-MM, either may be left out), or the default period with a
    warning when they do not make one of 1 to MAX_MONTHS months."""
    default = dashboards.default_period(today)
    first, last = request.args.get("from", ""), request.args.get("to", "")
    try:
        period = dashboards.Period(_month(first, default.first), _month(last, default.last))
    except ValueError:
        flash(_("月份应写作“年-月”，例如 2026-01；已改为显示最近 12 个月。"), "warning")
        return default
    if not 1 <= period.length <= dashboards.MAX_MONTHS:
        flash(_("统计期间须为 1 至 %(months)s 个月；已改为显示最近 12 个月。", months=dashboards.MAX_MONTHS), "warning")
        return default
    return period


def _month(text: str, fallback: date) -> date:
    return datetime.strptime(text, "%Y-%m").date() if text else fallback
