"""An HTTP GET that cannot be turned against the platform's own network (SSRF).

The placement check fetches addresses units typed in. Such an address could name 127.0.0.1, the
cloud metadata service 169.254.169.254 or an intranet host, directly, in a numeric disguise
(0x7f000001, 2130706433, 0177.0.0.1, [::ffff:127.0.0.1]) or behind a redirect. So every hop is
vetted before any connection: http/https only; the host is resolved once and refused if ANY of its
addresses is not a public unicast address; the connection then goes to that vetted address itself
(the name travels only in the Host header and TLS SNI), so a second DNS answer cannot swap in a
private address (DNS rebinding). Redirects are followed by hand, each target vetted the same way.
Timeouts are short and the body is capped.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import idna

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NUMERIC_PART = re.compile(r"0[xX][0-9a-fA-F]+|[0-9]+")
_USER_AGENT = "conac-platform-placement-check/1.0"


@dataclass(frozen=True)
class FetchPolicy:
    """Limits of one fetch; `allowed_networks` opens given networks (tests' local site only)."""

    connect_timeout: float = 3.0
    read_timeout: float = 5.0
    total_seconds: float = 12.0  # a server dripping bytes slowly is cut off here
    max_bytes: int = 512 * 1024
    max_redirects: int = 3
    allowed_networks: tuple[IPNetwork, ...] = ()


@dataclass(frozen=True)
class FetchResponse:
    url: str  # the address asked for
    final_url: str  # after redirects
    status: int
    body: bytes  # at most max_bytes
    truncated: bool
    content_type: str
    hops: list[str] = field(default_factory=list)  # every address requested, in order


class FetchRefused(Exception):
    """The address may not be fetched; nothing was connected to. `reason` is Chinese, for the page."""

    def __init__(self, reason: str, url: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.url = url


class FetchFailed(Exception):
    """The address was allowed but the fetch did not succeed (timeout, refused, TLS, DNS…)."""

    def __init__(self, reason: str, url: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.url = url


def parse_networks(text: str) -> tuple[IPNetwork, ...]:
    """Comma separated CIDRs (a setting) as networks; an empty text allows nothing extra."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


def fetch(url: str, policy: FetchPolicy, connect_to: str = "") -> FetchResponse:
    """GET `url` under `policy`. `connect_to` pins the first hop to this IP (e.g. the server IP an
    application gives for its domain); it is vetted like any resolved address."""
    started = time.monotonic()
    hops: list[str] = []
    current, pinned = url, connect_to
    for _ in range(policy.max_redirects + 1):
        hops.append(current)
        target = _vet(current, policy, pinned)
        status, headers, body, truncated = _get(target, policy, started)
        location = headers.get("location", "")
        if status in _REDIRECTS and location:
            current, pinned = urljoin(current, location), ""
            continue
        content_type = headers.get("content-type", "")
        return FetchResponse(url, current, status, body, truncated, content_type, hops)
    raise FetchRefused(f"重定向超过 {policy.max_redirects} 次，已停止访问", current)


@dataclass(frozen=True)
class _Target:
    url: str
    scheme: str
    host: str  # ASCII name (or the IP literal) for the Host header and SNI
    port: int
    path: str
    address: str  # the vetted IP connected to


def _vet(url: str, policy: FetchPolicy, pinned: str) -> _Target:
    """Check scheme and host, resolve, refuse unless every address is public; no connection yet."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchRefused(f"只允许访问 http 或 https 地址，不允许“{scheme or '无协议'}:”地址", url)
    if parts.username or parts.password:
        raise FetchRefused("地址中不得包含用户名或密码", url)
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise FetchRefused("地址中的端口号无效", url) from exc
    host = _ascii_host(parts.hostname or "", url)
    addresses = [_parse_ip(pinned, url)] if pinned else _resolve(host, port, url)
    for address in addresses:
        problem = address_problem(address, policy.allowed_networks)
        if problem:
            raise FetchRefused(f"地址 {host} 指向{problem}（{address}），不允许访问", url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(url, scheme, host, port, path, str(addresses[0]))


def _ascii_host(hostname: str, url: str) -> str:
    if not hostname:
        raise FetchRefused("地址中没有主机名", url)
    if ":" in hostname:  # an IPv6 literal, brackets already removed
        return hostname
    try:
        return idna.encode(hostname, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise FetchRefused(f"主机名“{hostname}”无效", url) from exc


def _parse_ip(text: str, url: str) -> IPAddress:
    try:
        return ipaddress.ip_address(text)
    except ValueError as exc:
        raise FetchRefused(f"服务器地址“{text}”不是有效的IP地址", url) from exc


def _resolve(host: str, port: int, url: str) -> list[IPAddress]:
    """Every address of `host`. Numeric forms (0x7f000001, 2130706433, 0177.0.0.1) are read as the
    C library reads them, so they are judged by the address they really mean."""
    legacy = _legacy_ipv4(host)
    if legacy is not None:
        return [legacy]
    try:
        return [ipaddress.ip_address(host.split("%")[0])]
    except ValueError:
        pass
    try:
        infos = resolve_host(host, port)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchFailed(f"域名 {host} 无法解析", url) from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise FetchFailed(f"域名 {host} 没有解析到地址", url)
    return addresses


def resolve_host(host: str, port: int) -> list[tuple]:
    """The system resolver (one place, so a test can stand in a fixed answer)."""
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """inet_aton's forms: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x)."""
    parts = host.rstrip(".").split(".")
    if not 1 <= len(parts) <= 4:
        return None
    try:
        numbers = [_inet_aton_number(p) for p in parts]
    except ValueError:
        return None
    if len(parts) == 4 and all(p.isdigit() and not (p.startswith("0") and len(p) > 1) for p in parts):
        return None  # plain dotted decimal: ipaddress reads it below
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(parts)):
        return None
    value = 0
    for n in leading:
        value = value * 256 + n
    return ipaddress.IPv4Address((value << (8 * (5 - len(parts)))) + last)


def _inet_aton_number(part: str) -> int:
    if not _NUMERIC_PART.fullmatch(part):
        raise ValueError(part)
    if part.lower().startswith("0x"):
        return int(part, 16)
    if part.startswith("0") and len(part) > 1:
        return int(part, 8)
    return int(part, 10)


def address_problem(address: IPAddress, allowed: tuple[IPNetwork, ...] = ()) -> str:
    """Why an address is forbidden, in Chinese; empty when it is a public unicast address."""
    if any(address.version == net.version and address in net for net in allowed):
        return ""
    for embedded in _embedded_ipv4(address):
        problem = address_problem(embedded, allowed)
        if problem:
            return f"内嵌的{problem}"
    checks = (
        (address.is_unspecified, "未指定地址"),
        (address.is_loopback, "本机回环地址"),
        (address.is_link_local, "链路本地地址（含云元数据服务）"),
        (address.is_multicast, "组播地址"),
        (address.version == 4 and address in ipaddress.ip_network("100.64.0.0/10"), "运营商级NAT地址"),
        (address.is_reserved, "保留地址"),
        (address.is_private, "内部网络地址"),
        (not address.is_global, "非公网地址"),
    )
    return next((label for flagged, label in checks if flagged), "")


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo, NAT64): they decide where it goes."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [a for a in found if a is not None]


def _get(target: _Target, policy: FetchPolicy, started: float) -> tuple[int, dict[str, str], bytes, bool]:
    connection = _connection(target, policy)
    try:
        connection.putrequest("GET", target.path, skip_accept_encoding=True)
        connection.putheader("User-Agent", _USER_AGENT)
        connection.putheader("Accept", "text/html,*/*;q=0.5")
        connection.endheaders()
        response = connection.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        body, truncated = _read_capped(response, policy, started, target.url)
        return response.status, headers, body, truncated
    except (OSError, http.client.HTTPException) as exc:
        raise FetchFailed(_failure_reason(exc), target.url) from exc
    finally:
        connection.close()


def _read_capped(
    response: http.client.HTTPResponse, policy: FetchPolicy, started: float, url: str
) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while size <= policy.max_bytes:
        if time.monotonic() - started > policy.total_seconds:
            raise FetchFailed(f"网站响应过慢，超过 {policy.total_seconds:g} 秒未读完，已停止", url)
        chunk = response.read1(16 * 1024)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)[: policy.max_bytes], True


def _connection(target: _Target, policy: FetchPolicy) -> http.client.HTTPConnection:
    if target.scheme == "https":
        return _PinnedHTTPS(target, policy)
    return _PinnedHTTP(target, policy)


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the vetted address; the Host header keeps the name."""

    def __init__(self, target: _Target, policy: FetchPolicy) -> None:
        super().__init__(target.host, target.port, timeout=policy.connect_timeout)
        self._address = target.address
        self._read_timeout = policy.read_timeout

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock.settimeout(self._read_timeout)


class _PinnedHTTPS(_PinnedHTTP):
    """As _PinnedHTTP, then TLS with SNI and certificate checked against the name."""

    def connect(self) -> None:
        super().connect()
        context = ssl.create_default_context()
        self.sock = context.wrap_socket(self.sock, server_hostname=self.host)


def _failure_reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError | socket.timeout):
        return "连接或读取超时"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "网站的HTTPS证书无效或与域名不符"
    if isinstance(exc, ssl.SSLError):
        return "HTTPS连接失败"
    if isinstance(exc, ConnectionRefusedError):
        return "网站拒绝连接"
    if isinstance(exc, http.client.HTTPException):
        return "网站返回的不是有效的HTTP响应"
    return "无法连接网站"
