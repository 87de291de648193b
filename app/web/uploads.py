"""Upload routes raise the request body limit for themselves (the app's default is small)."""

from __future__ import annotations

from flask import current_app, request

from app.extensions import csrf


def accept_upload(limit: int) -> None:
    """Raise the body limit for this request, then check the CSRF token as CSRFProtect does for other routes
    (upload routes are exempted from it because it reads the body before a view could raise the limit)."""
    request.max_content_length = limit
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
