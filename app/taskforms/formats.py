"""JSON Schema `format` checkers for the server-side validation of task forms.

Values are checked exactly as they will be stored: no trimming, case folding or prefix stripping.
Non-string values pass every check here; the schema's `type` keyword rejects them.
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
    "ipv4": "请输入正确的IPv4地址",
    "email": "请输入正确的电子邮箱地址",
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

_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_MAX_EMAIL_CHARS = 120


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
    """Dotted quad only; ipaddress rejects leading zeros, which some parsers read as octal."""
    try:
        ipaddress.IPv4Address(address)
    except ipaddress.AddressValueError:
        return False
    return True


def is_email(address: str) -> bool:
    """Pragmatic shape check; only a confirmation mail proves an address."""
    return len(address) <= _MAX_EMAIL_CHARS and _EMAIL.fullmatch(address) is not None


_PREDICATES: dict[str, Callable[[str], bool]] = {
    "uscc": is_uscc,
    "cn-mobile": is_cn_mobile,
    "cn-domain": is_cn_domain,
    "ipv4": is_ipv4,
    "email": is_email,
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
