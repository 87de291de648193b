"""An Excel list as a download: the workbook is built and its export audited in the request's transaction."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from flask import send_file
from werkzeug.wrappers import Response

from app.engine import get_engine
from app.extensions import db
from app.services import exports
from app.web.access import current_actor


def excel(name: str, sheets: Sequence[exports.Sheet], filters: Mapping[str, str]) -> Response:
    """`name`.xlsx holding `sheets`; the audit row names the list, its filters and row counts."""
    data = exports.export(db.session, current_actor(), name, sheets, filters, get_engine().runner.clock())
    db.session.commit()
    return send_file(io.BytesIO(data), mimetype=exports.XLSX, as_attachment=True, download_name=f"{name}.xlsx")
