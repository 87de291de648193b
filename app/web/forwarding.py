"""URL转发: a request for a domain with an effective URL转发 record gets a 301 to the record's address.

The zone points such names at this platform (services/dns_zone.py). Requests for the platform's own
host names are never looked up, nor are hosts outside .政务/.公益; the rest cost one indexed query.
A domain without a forwarding record whose 主机信息 is "none" shows its unit's published 网络红页 at "/"
(one more query, for "/" only); the red page's other addresses (/hy/…, images, the badge script) are
ordinary routes of the platform and work under any host.
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from app.extensions import db
from app.services import dns
from app.taskforms.formats import to_uri
from app.web.red_pages.site import red_page_at_host


def init_forwarding(app: Flask) -> None:
    own = {dns.host_name(h.strip()) for h in str(app.config["PLATFORM_HOSTS"]).split(",") if h.strip()}

    def forward() -> Response | None:
        name = dns.host_name(request.environ.get("HTTP_HOST", ""))
        if not name or name in own:
            return None
        target = dns.forward_target(db.session, name)
        if target:
            return redirect(to_uri(target), 301)
        return red_page_at_host(name) if request.path == "/" and request.method in ("GET", "HEAD") else None

    app.before_request(forward)
