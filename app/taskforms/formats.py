"""JSON Schema `format` checkers and normalisers for the server-side validation of every form.

`NORMALISERS` turn what a user typed into the one stored form (a domain's U-label in lower case,
an upper-case 统一社会信用代码, a bare 11-digit mobile number); the checkers then check values
exactly as they will be stored. Non-string values pass every check; the `type` keyword rejects them.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from urllib.parse import SplitResult, quote, urlsplit, urlunsplit

import idna
from jsonschema import FormatChecker
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

FORMAT_MESSAGES: dict[str, str] = {
    "uscc": "统一社会信用代码格式或校验位不正确",
    "cn-mobile": "请输入11位手机号码",
    # The message for a name of the wrong shape; `domain_problem` says what else is wrong with a name.
    "cn-domain": "域名须为“名称.政务”或“名称.公益”的形式（名称中不能再有“.”），例如 鄂尔多斯市人民政府.政务",
    "ipv4": "请输入公网IPv4地址（不能是内网、本机、保留、组播或文档示例地址）",
    "email": "请输入正确的电子邮箱地址（如 name@example.cn，不接受IP地址形式）",
    "hostname": "请输入正确的英文域名，不含 http:// 和路径，例如 ordos.gov.cn",
    "web-url": "请输入以 http:// 或 https:// 开头的完整网址，例如 http://www.ordos.gov.cn/",
}

# GB 32100 alphabet (no I, O, S, V, Z); stdnum itself would silently compact and upper-case.
_USCC_SHAPE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

_MOBILE = re.compile(r"1[3-9][0-9]{9}")

SUFFIXES = ("政务", "公益")
_HAN = "\u3400-\u4dbf\u4e00-\u9fff"
_HAS_HAN = re.compile(rf"[{_HAN}]")
# 暂行办法: all levels of a Chinese domain name together at most 31 characters.
_MAX_DOMAIN_CHARS = 31
# DNS: one label at most 63 octets, measured on its A-label (xn--…) form.
_MAX_LABEL_OCTETS = 63
_ALLOWED_CHAR = re.compile(rf"[{_HAN}a-z0-9-]")
_WEB_SCHEMES = ("http", "https")

# RFC 5322 dot-atom local part; a domain of LDH labels ending in a letter TLD, so no [IP] literals.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_EMAIL = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})")
_HOSTNAME = re.compile(rf"(?:{_LABEL}\.)+[a-z]{{2,63}}")
_MAX_EMAIL_CHARS = 120
_MAX_EMAIL_LOCAL = 64
_MAX_HOSTNAME = 253
# A web host in ASCII: LDH labels (A-labels included), the top level letters or an A-label (.xn--zfr164b).
_WEB_HOST = re.compile(rf"(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})")
_MAX_URL = 2000
_URI_SAFE = "/%:@!$&'()*+,;=-._~?"  # what stays as typed in path, query and fragment (RFC 3986)
# Full stops a Chinese keyboard types (。．｡) are dots in a domain name (UTS 46 maps them too).
_FULL_STOPS = str.maketrans({"。": ".", "．": ".", "｡": "."})
_MOBILE_PREFIX = re.compile(r"^(?:\+86|0086|86)(?=1\d{10}$)")


def _org_code_check_char(body: str) -> str:
    """GB 11714 check character of an 8-character 组织机构代码 body."""
    total = sum(int(char, 36) * weight for char, weight in zip(body, _ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def is_uscc(code: str) -> bool:
    """GB 32100 统一社会信用代码 with both its own and the embedded 组织机构代码 check character."""
    if not _USCC_SHAPE.fullmatch(code):
        return False
    try:
        uscc.validate(code)
    except ValidationError:
        return False
    return code[16] == _org_code_check_char(code[8:16])


def is_cn_mobile(number: str) -> bool:
    return _MOBILE.fullmatch(number) is not None


def normalise_mobile(number: str) -> str:
    """138 0013 8000, 138-0013-8000 and +86 13800138000 are all 13800138000."""
    compact = re.sub(r"[\s-]", "", number)
    return _MOBILE_PREFIX.sub("", compact)


def normalise_domain(name: str) -> str:
    """UTS 46: full-width dots become dots, case is folded, A-labels (xn--) are shown as U-labels."""
    text = name.strip().translate(_FULL_STOPS).rstrip(".")
    try:
        return idna.decode(idna.encode(text, uts46=True))
    except idna.IDNAError:
        return text.lower()  # left for the checker to refuse with its message


def to_ascii_domain(name: str) -> str:
    """Punycode A-label form (IDNA2008 + UTS46); raises idna.IDNAError, a ValueError, if invalid."""
    return idna.encode(name, uts46=True).decode("ascii")


def domain_suffix(name: str) -> str:
    """The registry suffix of a .政务/.公益 name: "政务" or "公益"."""
    suffix = name.rpartition(".")[2]
    if suffix not in SUFFIXES:
        raise ValueError(f"not a .政务 or .公益 name: {name!r}")
    return suffix


def is_cn_domain(name: str) -> bool:
    """A registrable X.政务 or X.公益 name (the .cn form is a DNS alias, not what is registered)."""
    return domain_problem(name) is None


def domain_problem(name: str) -> str | None:
    """What is wrong with a .政务/.公益 name, in Chinese, or None for a registrable name."""
    label, dot, suffix = name.partition(".")
    if not dot or not label or suffix not in SUFFIXES:
        return FORMAT_MESSAGES["cn-domain"]
    return _label_problem(label) or _length_problem(label, suffix)


def _label_problem(label: str) -> str | None:
    wrong = "".join(dict.fromkeys(c for c in label if not _ALLOWED_CHAR.fullmatch(c)))
    if wrong:
        shown = "、".join("空格" if c.isspace() else f"“{c}”" for c in wrong[:5])
        return f"域名只能包含汉字、小写字母、数字和连字符“-”，不能包含 {shown}"
    if label.startswith("-") or label.endswith("-"):
        return "连字符“-”不能在域名名称的开头或结尾"
    if label[2:4] == "--":
        return "域名名称的第3、4个字符不能都是连字符（“--”）"
    if not _HAS_HAN.search(label):
        return "中文域名须至少包含一个汉字"
    return None


def _length_problem(label: str, suffix: str) -> str | None:
    """Both limits: 31 characters (暂行办法) and 63 octets of the label's A-label (DNS)."""
    chars, octets = len(label) + len(suffix), label_octets(label)
    if chars > _MAX_DOMAIN_CHARS:
        return (
            f"域名共 {chars} 个字符（名称 {len(label)} 个、后缀 {len(suffix)} 个，不计“.”），"
            f"超过《党政机关、事业单位和社会组织网上名称管理暂行办法》规定的 {_MAX_DOMAIN_CHARS} 个字符；"
            f"名称转换为 Punycode 后为 {octets} 字节（上限 {_MAX_LABEL_OCTETS} 字节），请使用更短的规范简称"
        )
    if octets > _MAX_LABEL_OCTETS:
        return (
            f"域名名称“{label}”共 {len(label)} 个字符，转换为 Punycode 后为 {octets} 字节，"
            f"超过每级名称 {_MAX_LABEL_OCTETS} 字节的技术上限（汉字较多的名称一般不超过15个汉字），请使用更短的规范简称"
        )
    try:  # the remaining IDNA2008 rules (e.g. contextual ones) have no plainer wording
        to_ascii_domain(f"{label}.{suffix}")
    except idna.IDNAError:
        return "域名包含不能用于域名的字符，请只使用常用汉字、小写字母、数字和连字符"
    return None


def label_octets(label: str) -> int:
    """Length of the label on the wire: its A-label (xn-- + Punycode), or itself when all ASCII."""
    return len(label) if label.isascii() else len("xn--") + len(label.encode("punycode"))


def is_ipv4(address: str) -> bool:
    """A public dotted quad: not loopback, private, link-local, CGNAT, multicast, broadcast or documentation.

    ipaddress rejects leading zeros, which some parsers read as octal.
    """
    try:
        parsed = ipaddress.IPv4Address(address)
    except ipaddress.AddressValueError:
        return False
    return parsed.is_global and not (parsed.is_multicast or parsed.is_reserved)


def is_email(address: str) -> bool:
    """Strict shape (dot-atom, a domain name, never an address literal); only a confirmation mail proves it."""
    local = address.rpartition("@")[0]
    return (
        len(address) <= _MAX_EMAIL_CHARS
        and len(local) <= _MAX_EMAIL_LOCAL
        and _EMAIL.fullmatch(address) is not None
    )


def normalise_email(address: str) -> str:
    """The domain part is case-insensitive: stored in lower case (the local part is kept as typed)."""
    local, at, domain = address.strip().rpartition("@")
    return f"{local}{at}{domain.lower()}" if at else address.strip()


def is_hostname(name: str) -> bool:
    """An English (ASCII) domain name such as ordos.gov.cn, in lower case."""
    return len(name) <= _MAX_HOSTNAME and _HOSTNAME.fullmatch(name) is not None


def web_url_problem(url: str) -> str | None:
    """What is wrong with a URL a browser may be sent to (URL转发), in Chinese, or None.

    Only http and https: javascript:, data:, file: and the like could run code or read files in the
    visitor's browser. No user name or password before the host: "http://gov.cn@evil.example/" goes to
    evil.example, not gov.cn.
    """
    if any(c.isspace() or unicodedata.category(c) == "Cc" for c in url):
        return "网址中不能包含空格、换行等字符"
    parts = urlsplit(url)
    if parts.scheme.lower() not in _WEB_SCHEMES or not url.lower().startswith(f"{parts.scheme.lower()}://"):
        shown = f"（您填写的是“{parts.scheme}:”）" if parts.scheme else ""
        return f"只能转发到以 http:// 或 https:// 开头的网址，不接受 javascript:、data:、file: 等其他写法{shown}"
    if "@" in parts.netloc:
        return "网址中不能包含用户名或密码（“@”及其前面的部分），请只填写网站地址"
    if web_host(parts) is None:
        return "网址中的网站地址不正确，应为英文域名、中文域名或公网IP，例如 http://www.ordos.gov.cn/"
    return None


def web_host(parts: SplitResult) -> str | None:
    """The ASCII host of a split http(s) URL with a valid port, or None."""
    try:
        port, host = parts.port, (parts.hostname or "").rstrip(".")
    except ValueError:  # a port that is not a number from 0 to 65535
        return None
    if port == 0 or not host:
        return None
    if _looks_numeric(host):
        return host if is_ipv4(host) else None
    try:
        ascii_host = idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        return None
    return ascii_host if _WEB_HOST.fullmatch(ascii_host) else None


def _looks_numeric(host: str) -> bool:
    return all(part.isdigit() for part in host.split(".")) or ":" in host


def is_web_url(url: str) -> bool:
    return len(url) <= _MAX_URL and web_url_problem(url) is None


def to_uri(url: str) -> str:
    """An accepted URL as ASCII for a Location header: the host as A-labels, the rest percent-encoded."""
    parts = urlsplit(url)
    host = web_host(parts) or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    path, query, fragment = (quote(part, safe=_URI_SAFE) for part in (parts.path, parts.query, parts.fragment))
    return urlunsplit((parts.scheme.lower(), netloc, path, query, fragment))


# Problems a format's checker can name more exactly than its one message (which stays the fallback).
EXPLAINERS: dict[str, Callable[[str], str | None]] = {
    "cn-domain": domain_problem,
    "web-url": web_url_problem,
}


def format_message(format_name: str, value: object) -> str | None:
    """The Chinese message for a value refused by a format: the exact cause where one is known."""
    explain = EXPLAINERS.get(format_name)
    specific = explain(value) if explain is not None and isinstance(value, str) else None
    return specific or FORMAT_MESSAGES.get(format_name)


_PREDICATES: dict[str, Callable[[str], bool]] = {
    "uscc": is_uscc,
    "cn-mobile": is_cn_mobile,
    "cn-domain": is_cn_domain,
    "ipv4": is_ipv4,
    "email": is_email,
    "hostname": is_hostname,
    "web-url": is_web_url,
}

NORMALISERS: dict[str, Callable[[str], str]] = {
    "uscc": str.upper,
    "cn-mobile": normalise_mobile,
    "cn-domain": normalise_domain,
    "email": normalise_email,
    "hostname": lambda name: name.strip().translate(_FULL_STOPS).rstrip(".").lower(),
}


def _strings_only(predicate: Callable[[str], bool]) -> Callable[[object], bool]:
    def check(instance: object) -> bool:
        return not isinstance(instance, str) or predicate(instance)

    return check


def _build_checker() -> FormatChecker:
    # Start empty so the accepted formats do not depend on which jsonschema extras are installed.
    checker = FormatChecker(formats=())
    for name, predicate in _PREDICATES.items():
        checker.checks(name)(_strings_only(predicate))
    return checker


FORMAT_CHECKER = _build_checker()
