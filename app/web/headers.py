"""Security headers on every response: no framing, no inline code, no sniffing, no version banner."""

from __future__ import annotations

from flask import Flask, Response, request
from flask_login import current_user

# Scripts and styles come only from our own static files: no inline <script>, no style="" attributes.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
    # Replaces the development server's "Werkzeug/x Python/y" (and any other) version banner.
    "Server": "web",
}
HSTS = "max-age=31536000; includeSubDomains"


def init_headers(app: Flask) -> None:
    app.after_request(_secure)


def _secure(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)  # a route may be stricter
    for name, value in HEADERS.items():
        response.headers[name] = value
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = HSTS
    if current_user.is_authenticated and response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"  # no personal pages in shared caches or after logout
    return response
