"""Request ids, one log record per request, and JSON lines when LOG_FORMAT=json.

Every request gets an id (a sane incoming X-Request-ID, else a new one), echoed in the response header and
attached to every record logged while it runs. After the response, logger `app.request` logs one INFO record
with the method, path (never the query string: searches carry names), status, duration and the account's id
(never its name). With the default LOG_FORMAT=text nothing changes: no handler is installed, so INFO records
stay silent and warnings print as before. LOG_FORMAT=json sends every record to stderr as one JSON object.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import IO

import orjson
from flask import Flask, Response, g, has_request_context, request

from app.observability import metrics

REQUEST_LOGGER = logging.getLogger("app.request")
_INCOMING_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# Fields a record may carry besides the message; a request's are added by RequestFields.
FIELDS = ("request_id", "account_id", "method", "path", "status", "duration_ms")


def init_logs(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)  # first: time the whole request
    app.after_request(_finish_request)
    if app.config["LOG_FORMAT"] == "json":
        install_json_handler(sys.stderr, str(app.config["LOG_LEVEL"]))


def install_json_handler(stream: IO[str], level: str) -> logging.Handler:
    """Replace a JSON handler installed before (create_app may run more than once) on the root logger."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h.formatter, JsonFormatter)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestFields())
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, the request fields present, exception."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({name: getattr(record, name) for name in FIELDS if getattr(record, name, None) is not None})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


class RequestFields(logging.Filter):
    """Adds the request id and account id to records logged during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and "request_id" in g:
            record.request_id = getattr(record, "request_id", None) or g.request_id
            record.account_id = getattr(record, "account_id", None) or _account_id()
        return True


def _start_request() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _INCOMING_ID.fullmatch(incoming) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    started = g.pop("request_started", None)
    if started is None:  # a before_request ahead of ours answered (none does today)
        return response
    seconds = time.perf_counter() - started
    endpoint = request.url_rule.endpoint if request.url_rule else "unmatched"
    metrics.observe_request(endpoint, request.method, response.status_code, seconds)
    response.headers["X-Request-ID"] = g.request_id
    if REQUEST_LOGGER.isEnabledFor(logging.INFO):
        fields = {"method": request.method, "path": request.path, "status": response.status_code}
        REQUEST_LOGGER.info("request", extra={**fields, "duration_ms": round(seconds * 1000, 1)})
    return response


def _account_id() -> int | None:
    """The logged-in account's id; loading it reads nothing more than the request's own gates already did."""
    user = g.get("_login_user")
    return user.id if user is not None and user.is_authenticated else None
