"""Zone files: the effective DNS records of domains in force, one zone per registry suffix.

Owner names are A-labels (DNS carries no U-labels). A URL转发 record is published as an A record to
the platform's own web server, which answers the visitor with the 301 (app/web/forwarding.py). So is a
domain whose 主机信息 is "none" and whose unit has published its 网络红页: the platform serves that page at
the domain's root (@ and www), unless the unit set records of its own for those names.
Each file is written whole under a temporary name and then renamed, so a name server reloading it
never reads half a zone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import DnsRecord, Domain, RedPage
from app.services.dns import PUBLISHED_DOMAIN_STATUS, SUFFIX_A_LABELS
from app.services.errors import ServiceRefusal
from app.taskforms.formats import is_ipv4

# SOA timers in seconds: refresh, retry, expire, negative-answer TTL (RFC 1912 §2.2 ranges).
SOA_TIMERS = (3600, 900, 1209600, 3600)


@dataclass(frozen=True)
class ZoneSettings:
    nameservers: list[str]  # the first is the SOA's primary
    hostmaster: str  # the SOA's mailbox in DNS form, e.g. hostmaster.conac.cn
    ttl: int
    web_ipv4: str  # where URL转发 names point: the platform's own web server

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> ZoneSettings:
        servers = [s.strip().rstrip(".") for s in str(config["DNS_NAMESERVERS"]).split(",") if s.strip()]
        if not servers:
            raise ServiceRefusal("未设置域名服务器 DNS_NAMESERVERS，无法生成区域文件")
        return cls(
            servers,
            str(config["DNS_HOSTMASTER"]).rstrip("."),
            int(str(config["DNS_TTL"])),
            str(config["PLATFORM_WEB_IPV4"]).strip(),
        )


@dataclass(frozen=True)
class ZoneLine:
    owner: str  # relative to the zone: xn--… or www.xn--…
    address: str


def zone_lines(session: Session, suffix: str, web_ipv4: str) -> list[ZoneLine]:
    """The A records of one suffix's zone, sorted; refuses URL转发 records without the web address."""
    query = (
        select(Domain.ascii_name, DnsRecord.host, DnsRecord.record_type, DnsRecord.value)
        .join(Domain, Domain.id == DnsRecord.domain_id)
        .where(
            Domain.suffix == suffix,
            Domain.status == PUBLISHED_DOMAIN_STATUS,
            DnsRecord.status == "effective",
        )
    )
    lines = set()
    for ascii_name, host, record_type, value in session.execute(query):
        label = ascii_name.rsplit(".", 1)[0]
        owner = label if host == "@" else f"{host}.{label}"
        lines.add(ZoneLine(owner, _address(record_type, value, web_ipv4)))
    own_owners = {line.owner for line in lines}
    lines.update(line for line in _red_page_lines(session, suffix, web_ipv4) if line.owner not in own_owners)
    return sorted(lines, key=lambda line: (line.owner, line.address))


def _red_page_lines(session: Session, suffix: str, web_ipv4: str) -> list[ZoneLine]:
    """@ and www of red-page domains (主机信息 "none") whose unit has a published 网络红页, to the platform."""
    query = select(Domain.ascii_name).where(
        Domain.suffix == suffix,
        Domain.status == PUBLISHED_DOMAIN_STATUS,
        Domain.host_mode == "none",
        select(RedPage.id).where(RedPage.unit_id == Domain.unit_id, RedPage.published_at.is_not(None)).exists(),
    )
    labels = [name.rsplit(".", 1)[0] for name in session.scalars(query)]
    return [ZoneLine(owner, _address("URL", "", web_ipv4)) for label in labels for owner in (label, f"www.{label}")]


def _address(record_type: str, value: str, web_ipv4: str) -> str:
    if record_type == "A":
        return value
    if not is_ipv4(web_ipv4):
        raise ServiceRefusal(
            "有生效的 URL转发 记录或已发布的网络红页，但未设置平台网站的公网IPv4地址 PLATFORM_WEB_IPV4"
            "（转发记录和红页域名须指向平台），"
            "区域文件未生成"
        )
    return web_ipv4


def render_zone(suffix: str, lines: list[ZoneLine], settings: ZoneSettings, now: datetime) -> str:
    """The zone file text of one suffix; the serial is the time of the export in seconds."""
    origin = SUFFIX_A_LABELS[suffix]
    refresh, retry, expire, negative = SOA_TIMERS
    head = [
        f"; zone {origin}. written by `flask dns export` at {now.isoformat(timespec='seconds')}; do not edit",
        f"$ORIGIN {origin}.",
        f"$TTL {settings.ttl}",
        f"@ IN SOA {settings.nameservers[0]}. {settings.hostmaster}. "
        f"( {int(now.timestamp())} {refresh} {retry} {expire} {negative} )",
        *(f"@ IN NS {server}." for server in settings.nameservers),
    ]
    return "\n".join([*head, *(f"{line.owner} IN A {line.address}" for line in lines)]) + "\n"


def export(session: Session, folder: Path, settings: ZoneSettings, now: datetime) -> list[tuple[Path, int]]:
    """Write one zone file per suffix into `folder`; returns each path and its number of A records.

    Every zone is built before any is written: a refusal leaves the files of the last export alone.
    """
    texts = {}
    for suffix in SUFFIX_A_LABELS:
        lines = zone_lines(session, suffix, settings.web_ipv4)
        texts[suffix] = (render_zone(suffix, lines, settings, now), len(lines))
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, (text, count) in texts.items():
        path = folder / f"{SUFFIX_A_LABELS[suffix]}.zone"
        temporary = path.with_suffix(".zone.tmp")
        temporary.write_text(text, encoding="ascii")
        os.replace(temporary, path)
        written.append((path, count))
    return written
