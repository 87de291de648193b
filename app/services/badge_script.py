"""The badge script a unit's pages load (/js/…/<code>.js): which image it shows, and for whom.

Every visit of every page with a badge asks for it, so a hit reads the certificate through a small
in-process cache (a short lifetime: a revoked certificate shows its error image within it) and
never writes. The badge links to the certificate page and shows the red or blue image; it shows
the error image when the certificate is not valid or the page is not on one of its bound domains
(DOMAIN.md §2.4).
"""

from __future__ import annotations

import hashlib
import html
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from app.models.badge import KIND_LABELS, VALID
from app.services import badges
from app.taskforms.formats import normalise_domain, to_ascii_domain

UNKNOWN_COLOUR = "red"  # a forged or unknown code says nothing of its kind


@dataclass(frozen=True)
class BadgeView:
    """What a hit needs of one certificate."""

    code: str
    public_id: str
    colour: str
    valid: bool
    hosts: frozenset[str]  # A-label host names the badge may show on


def load_view(session: Session, code: str) -> BadgeView | None:
    """The certificate behind a badge code, or None when there is none (read-only)."""
    certificate = badges.by_code(session, code)
    if certificate is None:
        return None
    return BadgeView(
        code=code,
        public_id=certificate.public_id,
        colour=certificate.colour,
        valid=badges.current_status(session, certificate) == VALID,
        hosts=bound_hosts(certificate.domains, certificate.english_domain),
    )


def bound_hosts(chinese_domains: Iterable[str], english_domain: str) -> frozenset[str]:
    """The hosts a badge may show on: each bound domain and its www name; a Chinese one also in its .cn form."""
    names = [*chinese_domains, *(f"{name}.cn" for name in chinese_domains)]
    if english_domain:
        names.append(english_domain)
    hosts = {host for name in names if (host := ascii_host(name))}
    return frozenset(name for host in hosts for name in (host, f"www.{host}"))


def ascii_host(name: str) -> str | None:
    """A host name as A-labels in lower case (U-labels and A-labels compare equal); None when invalid."""
    if name.isascii():
        return name.lower().rstrip(".") or None
    try:
        return to_ascii_domain(normalise_domain(name))
    except ValueError:
        return None


def referer_host(referer: str | None) -> str | None:
    """The host of the page that loaded the badge, from its Referer header."""
    if not referer:
        return None
    try:
        host = urlsplit(referer).hostname
    except ValueError:
        return None
    return ascii_host(host) if host else None


def shows_valid(view: BadgeView, host: str | None, platform_hosts: frozenset[str]) -> bool:
    """The normal image only for a valid certificate on one of its hosts (or a page of the platform itself)."""
    return view.valid and host is not None and (host in view.hosts or host in platform_hosts)


@dataclass(frozen=True)
class Script:
    body: str
    etag: str


def badge_script(view: BadgeView | None, valid: bool, base_url: str) -> Script:
    """The script filling <span id="_ideConac"> with the badge: a link to the certificate page around its image."""
    colour = view.colour if view else UNKNOWN_COLOUR
    image = html.escape(badges.image_url(colour, valid, base_url))
    alt = html.escape(f"{KIND_LABELS.get(colour, '')}网站标识")
    markup = f'<img id="imgConac" src="{image}" alt="{alt}" width="110" height="55" border="0">'
    if view is not None:
        page = html.escape(badges.page_url(view.public_id, base_url))
        markup = f'<a href="{page}" target="_blank" rel="noopener">{markup}</a>'
    literal = json.dumps(markup, ensure_ascii=False).replace("</", "<\\/")
    body = f'(function(){{var s=document.getElementById("_ideConac");if(s){{s.innerHTML={literal};}}}})();\n'
    return Script(body, hashlib.blake2b(body.encode(), digest_size=12).hexdigest())


class ViewCache:
    """Badge code → view (None for an unknown code) for `seconds`; the least recently used go first when full."""

    def __init__(self, seconds: float, capacity: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.capacity = capacity
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, BadgeView | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, code: str, load: Callable[[str], BadgeView | None]) -> BadgeView | None:
        now = self.clock()
        with self._lock:
            entry = self._entries.get(code)
            if entry is not None and entry[0] > now:
                self._entries.move_to_end(code)
                return entry[1]
        view = load(code)  # outside the lock: a slow read never holds up other hits
        with self._lock:
            self._entries[code] = (now + self.seconds, view)
            self._entries.move_to_end(code)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return view

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
