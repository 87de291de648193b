"""Website badges: the unit's 标识管理 pages, and the public badge script, images and 标识证书 page.

The public routes are read-only and cacheable. The badge script is loaded by every visit of every page
that hangs a badge: it reads through the in-process cache of services/badge_script.py and never writes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from app.extensions import db
from app.models.account import UNIT_ROLE
from app.services import badge_script, badges, dns
from app.taskforms.formats import to_uri
from app.web.access import gate
from app.web.errors import render_error

blueprint = Blueprint("badges", __name__, url_prefix="/unit/badges")
gate(blueprint, UNIT_ROLE)
public_blueprint = Blueprint("badge_public", __name__)

IMAGES = ("red", "blue", "red_error", "blue_error")
IMAGE_FOLDER = Path(__file__).resolve().parent.parent.parent / "static" / "badge"
SCRIPT_MAX_AGE = 300  # seconds a browser or proxy reuses a badge script; the status shows within this
UNKNOWN_MAX_AGE = 60
IMAGE_MAX_AGE = 86400
PAGE_MAX_AGE = 300
NOT_FOUND = _l("没有找到该网上名称《标识证书》，请核对标识后重试。")


# ---- the unit's 标识管理 ------------------------------------------------------------------------


@blueprint.get("/")
def list_certificates() -> str:
    certificates = badges.for_unit(db.session, current_user.unit_id)
    rows = [badges.facts(db.session, certificate) for certificate in certificates]
    return render_template("badges/list.html", rows=rows)


@blueprint.get("/<code>")
def show_code(code: str) -> str:
    certificate = badges.unit_certificate(db.session, current_user.unit_id, code)
    if certificate is None:
        abort(404)
    return render_template("badges/code.html", badge=badges.badge_code(db.session, certificate, _base_url()))


# ---- public: the badge script, its images, the certificate page -------------------------------


@public_blueprint.get("/js/<province>/<city>/<county>/<number>/<code>.js")
def badge_script_file(province: str, city: str, county: str, number: str, code: str) -> Response:
    state = badge_state(current_app)
    path_fits = badges.CODE_SHAPE.fullmatch(code) and badges.script_segments(code) == (province, city, county, number)
    view = state.views.get(code, lambda wanted: badge_script.load_view(db.session, wanted)) if path_fits else None
    if view is None:  # a forged path or an unknown code: the error image, and no link
        return _script_response(badge_script.badge_script(None, False, _base_url()), 404, UNKNOWN_MAX_AGE)
    host = badge_script.referer_host(request.headers.get("Referer"))
    valid = badge_script.shows_valid(view, host, state.platform_hosts)
    return _script_response(badge_script.badge_script(view, valid, _base_url()), 200, SCRIPT_MAX_AGE)


@public_blueprint.get("/image/<name>.png")
def badge_image(name: str) -> Response:
    if name not in IMAGES:
        abort(404)
    content, etag = _image(name)
    response = Response(content, mimetype="image/png")
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={IMAGE_MAX_AGE}"
    return response.make_conditional(request)


@public_blueprint.get("/sitename")
def show_certificate() -> Response | tuple[str, int]:
    public_id = request.args.get("id", "")
    certificate = badges.by_public_id(db.session, public_id) if request.args.get("method") == "show" else None
    if certificate is None:
        return render_error(404, NOT_FOUND)
    page = render_template("badges/certificate.html", facts=badges.facts(db.session, certificate))
    response = Response(page, mimetype="text/html")
    response.set_etag(hashlib.blake2b(page.encode(), digest_size=12).hexdigest())
    response.headers["Cache-Control"] = f"public, max-age={PAGE_MAX_AGE}"
    return response.make_conditional(request)


# ---- helpers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BadgeState:
    views: badge_script.ViewCache
    platform_hosts: frozenset[str]  # pages on these hosts are the platform's own (e.g. a 网络红页)


def badge_state(app: Flask) -> BadgeState:
    """This app's badge cache and own host names, made on first use."""
    state = app.extensions.get("badges")
    if state is None:
        views = badge_script.ViewCache(float(app.config["BADGE_CACHE_SECONDS"]), int(app.config["BADGE_CACHE_ENTRIES"]))
        names = [*str(app.config["PLATFORM_HOSTS"]).split(","), _configured_host(app)]
        state = BadgeState(views, frozenset(host for name in names if (host := dns.host_name(name.strip()))))
        app.extensions["badges"] = state
    return state


def _configured_host(app: Flask) -> str:
    base = str(app.config["BADGE_BASE_URL"])
    return to_uri(base).split("/")[2] if base else ""


def _base_url() -> str:
    """The badge host the code names: the configured public address, else the one this request came by."""
    base = str(current_app.config["BADGE_BASE_URL"])
    return to_uri(base).rstrip("/") if base else request.host_url.rstrip("/")


def _script_response(script: badge_script.Script, status: int, max_age: int) -> Response:
    response = Response(script.body, status=status, mimetype="text/javascript")
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.vary.add("Referer")  # the image depends on the page that asks
    if status != 200:
        return response
    response.set_etag(script.etag)
    return response.make_conditional(request)


@cache
def _image(name: str) -> tuple[bytes, str]:
    content = (IMAGE_FOLDER / f"{name}.png").read_bytes()
    return content, hashlib.blake2b(content, digest_size=12).hexdigest()
