"""Security headers on every response: no framing, no inline code, no sniffing, no version banner."""

from __future__ import annotations

from flask import Flask, Response, request, session

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
    # No personal pages in shared caches or after logout. The login's cookie says whether the page is personal:
    # asking the account (current_user) would reload it after an action's commit only to answer this.
    if response.mimetype == "text/html" and "_user_id" in session:
        response.headers["Cache-Control"] = "no-store"
    return response
