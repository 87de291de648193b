"""Server-side request forgery: every address the server fetches, and every place that could fetch one.

The one fetch of a user-supplied address is the placement check (services/placement.py → safe_fetch.py).
Each case is an address an attacker would type as its website: loopback, private, link-local (cloud
metadata), in numeric disguises, IPv6 forms carrying an IPv4 address, other schemes, credentials, a name
that resolves inward, and a redirect inward. Every one is refused with a Chinese reason and no connection
is made. A scan of app/ checks that nothing else opens network connections to addresses from users.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from app.services import safe_fetch
from app.services.safe_fetch import FetchPolicy, FetchRefused
from tests.attacks.tally import attempt

ATTACK = "SSRF"
APP = Path(__file__).resolve().parents[2] / "app"
POLICY = FetchPolicy(connect_timeout=1.0, read_timeout=1.0, total_seconds=3.0)
INWARD = {
    "loopback": "http://127.0.0.1/",
    "localhost": "http://localhost/",
    "loopback elsewhere in 127/8": "http://127.1.2.3:8080/",
    "hex": "http://0x7f000001/",
    "decimal": "http://2130706433/",
    "octal": "http://0177.0.0.1/",
    "short form": "http://127.1/",
    "unspecified": "http://0.0.0.0/",
    "IPv6 loopback": "http://[::1]/",
    "IPv4-mapped IPv6": "http://[::ffff:127.0.0.1]/",
    "IPv4-mapped metadata": "http://[::ffff:a9fe:a9fe]/",
    "NAT64 of loopback": "http://[64:ff9b::7f00:1]/",
    "6to4 of a private address": "http://[2002:c0a8:0101::1]/",
    "IPv6 link-local": "http://[fe80::1]/",
    "IPv6 unique local": "http://[fd00::1]/",
    "cloud metadata": "http://169.254.169.254/latest/meta-data/",
    "private 10/8": "http://10.0.0.1/",
    "private 172.16/12": "http://172.16.0.1/",
    "private 192.168/16": "https://192.168.1.1/",
    "carrier-grade NAT": "http://100.64.0.1/",
    "multicast": "http://224.0.0.1/",
    "reserved": "http://240.0.0.1/",
    "broadcast": "http://255.255.255.255/",
    "trailing dot": "http://127.0.0.1./",
    "file scheme": "file:///etc/passwd",
    "gopher scheme": "gopher://127.0.0.1:6379/_INFO",
    "ftp scheme": "ftp://example.cn/",
    "dict scheme": "dict://127.0.0.1:11211/stat",
    "no scheme": "//127.0.0.1/",
    "credentials": "http://user:pass@example.cn/",
    "credentials hiding the host": "http://example.cn@127.0.0.1/",
    "bad port": "http://example.cn:99999/",
}
# Names whose DNS answer points inward, or partly inward (rebinding needs only one such address).
RESOLVED = {
    "name resolving to loopback": ["127.0.0.1"],
    "name resolving to metadata": ["169.254.169.254"],
    "public and private answer": ["93.184.216.34", "10.1.1.1"],
    "IPv6 answer mapping loopback": ["::ffff:127.0.0.1"],
}


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Every outgoing connection attempted; a refused fetch must leave this empty."""
    made: list[tuple[Any, ...]] = []

    def record(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        made.append(address)
        raise ConnectionRefusedError("test: no connections")

    monkeypatch.setattr(socket, "create_connection", record)
    return made


class TestAddresses:
    """Inward addresses typed directly: loopback, private, link-local and metadata, CGNAT, multicast,
    reserved; hex, decimal, octal and short IPv4 forms; IPv6 loopback, mapped, NAT64, 6to4, link-local and
    unique-local; file, gopher, ftp and dict schemes; credentials in the address; a bad port."""

    @pytest.mark.parametrize("name", INWARD)
    def test_the_address_is_refused_before_connecting(
        self, name: str, connections: list[Any], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The attacker's DNS answers every name it is asked with loopback (e.g. "127.0.0.1." as a name).
        monkeypatch.setattr(
            safe_fetch, "resolve_host", lambda host, port: [(socket.AF_INET, 1, 6, "", ("127.0.0.1", port))]
        )
        with attempt(ATTACK, name):
            with pytest.raises(FetchRefused) as refused:
                safe_fetch.fetch(INWARD[name], POLICY)
            assert re.search(r"[\u4e00-\u9fff]", refused.value.reason)
            assert connections == []

    @pytest.mark.parametrize("name", RESOLVED)
    def test_a_name_resolving_inward_is_refused(
        self, name: str, connections: list[Any], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        answer = [(socket.AF_INET6 if ":" in a else socket.AF_INET, 1, 6, "", (a, 80)) for a in RESOLVED[name]]
        monkeypatch.setattr(safe_fetch, "resolve_host", lambda host, port: answer)
        with attempt(ATTACK, name), pytest.raises(FetchRefused):
            safe_fetch.fetch("http://site.example.cn/", POLICY)
        assert connections == []

    def test_a_pinned_server_address_is_vetted_too(self, connections: list[Any]) -> None:
        """An application's 服务器IP is where the first hop goes: it is checked like a resolved address."""
        with attempt(ATTACK, "pinned server address"), pytest.raises(FetchRefused):
            safe_fetch.fetch("http://site.example.cn/", POLICY, connect_to="10.0.0.5")
        assert connections == []


class _Redirector(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", self.target)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def redirector() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


class TestRedirects:
    """A public site (here a local one the policy allows, as the placement tests do) that redirects inward:
    each hop is vetted, so the inward target is refused and never connected to."""

    @pytest.mark.parametrize("target", ["http://169.254.169.254/", "http://[::1]:22/", "file:///etc/passwd"])
    def test_a_redirect_inward_is_refused(self, target: str, redirector: ThreadingHTTPServer) -> None:
        _Redirector.target = target
        policy = FetchPolicy(
            connect_timeout=1.0, read_timeout=1.0, allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),)
        )
        with attempt(ATTACK, f"redirect to {target}"), pytest.raises(FetchRefused) as refused:
            safe_fetch.fetch(f"http://127.0.0.1:{redirector.server_port}/", policy)
        assert refused.value.url == target


# Modules that may open connections, and to what: only safe_fetch takes addresses from users.
NETWORK_CLIENTS = re.compile(
    r"^\s*(import|from)\s+(urllib\.request|urllib3|requests|httpx|aiohttp|pycurl|http\.client|ftplib|telnetlib"
    r"|smtplib|socket|ssl)\b",
    re.MULTILINE,
)
ALLOWED_CLIENTS = {
    "services/safe_fetch.py": "the vetted fetch",
    "services/mail.py": "SMTP to the configured server (a setting, not user input)",
}


def test_nothing_else_opens_connections() -> None:
    """Every module importing a network client is listed above with its reason; a new one fails here."""
    with attempt(ATTACK, "no other fetching module"):
        found = {
            path.relative_to(APP).as_posix()
            for path in APP.rglob("*.py")
            if NETWORK_CLIENTS.search(path.read_text(encoding="utf-8"))
        }
        assert found == set(ALLOWED_CLIENTS)
