"""JSON Schema `format` checkers and normalisers for the server-side validation of every form.

`NORMALISERS` turn what a user typed into the one stored form (a domain's U-label in lower case,
an upper-case 统一社会信用代码, a bare 11-digit mobile number); the checkers then check values
exactly as they will be stored. Non-string values pass every check; the `type` keyword rejects them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

import idna
from jsonschema import FormatChecker
from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

FORMAT_MESSAGES: dict[str, str] = {
    "uscc": "统一社会信用代码格式或校验位不正确",
    "cn-mobile": "请输入11位手机号码",
    "cn-domain": "域名须以 .政务 或 .公益 结尾，且只含汉字、小写字母、数字和连字符，总长不超过31个字符",
    "ipv4": "请输入公网IPv4地址（不能是内网、本机、保留、组播或文档示例地址）",
    "email": "请输入正确的电子邮箱地址（如 name@example.cn，不接受IP地址形式）",
    "hostname": "请输入正确的英文域名，不含 http:// 和路径，例如 ordos.gov.cn",
}

# GB 32100 alphabet (no I, O, S, V, Z); stdnum itself would silently compact and upper-case.
_USCC_SHAPE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

_MOBILE = re.compile(r"1[3-9][0-9]{9}")

_SUFFIXES = ("政务", "公益")
_HAN = "\u3400-\u4dbf\u4e00-\u9fff"
_NAME_LABEL = re.compile(rf"(?!-)[{_HAN}a-z0-9-]+(?<!-)")
_HAS_HAN = re.compile(rf"[{_HAN}]")
# 暂行办法: all levels of a Chinese domain name together at most 31 characters.
_MAX_DOMAIN_CHARS = 31

# RFC 5322 dot-atom local part; a domain of LDH labels ending in a letter TLD, so no [IP] literals.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_EMAIL = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})")
_HOSTNAME = re.compile(rf"(?:{_LABEL}\.)+[a-z]{{2,63}}")
_MAX_EMAIL_CHARS = 120
_MAX_EMAIL_LOCAL = 64
_MAX_HOSTNAME = 253
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
    if suffix not in _SUFFIXES:
        raise ValueError(f"not a .政务 or .公益 name: {name!r}")
    return suffix


def is_cn_domain(name: str) -> bool:
    """A registrable X.政务 or X.公益 name (the .cn form is a DNS alias, not what is registered)."""
    label, dot, suffix = name.partition(".")
    if not dot or suffix not in _SUFFIXES:
        return False
    if not _NAME_LABEL.fullmatch(label) or not _HAS_HAN.search(label):
        return False
    if len(label) + len(suffix) > _MAX_DOMAIN_CHARS:
        return False
    # Character counts say little about the 63-octet label limit after Punycode, so encode.
    try:
        to_ascii_domain(name)
    except idna.IDNAError:
        return False
    return True


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


_PREDICATES: dict[str, Callable[[str], bool]] = {
    "uscc": is_uscc,
    "cn-mobile": is_cn_mobile,
    "cn-domain": is_cn_domain,
    "ipv4": is_ipv4,
    "email": is_email,
    "hostname": is_hostname,
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
