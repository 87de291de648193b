"""The one input policy for every text a user types, applied on the server before anything is validated or stored.

NFC normalisation; surrounding spaces trimmed; control characters (NUL among them), bidirectional
overrides and zero-width characters refused; line breaks refused in single-line fields and kept
as "\\n" in multi-line ones; a length limit always applies. Task forms (JSON Schema), account
forms (WTForms) and query parameters all call `clean_text`.
"""

from __future__ import annotations

import unicodedata

# Limits when a field declares none: a line of text, and a page of it.
DEFAULT_MAX_LINE = 500
DEFAULT_MAX_TEXT = 10_000

NEWLINES = {"\r\n": "\n", "\r": "\n", "\u2028": "\n", "\u2029": "\n"}
# Bidirectional embeddings, overrides and isolates (Trojan Source), and the marks that steer them.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


class TextRefused(ValueError):
    """The text breaks the policy; `message` says why, in Chinese, to show next to the field."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def clean_text(value: str, multiline: bool = False, max_length: int | None = None) -> str:
    """The text as it will be stored, or TextRefused."""
    text = unicodedata.normalize("NFC", value)
    if multiline:
        for old, new in NEWLINES.items():
            text = text.replace(old, new)
    text = text.strip()
    _refuse_invisible(text, multiline)
    limit = max_length or (DEFAULT_MAX_TEXT if multiline else DEFAULT_MAX_LINE)
    if len(text) > limit:
        raise TextRefused(f"不能超过 {limit} 个字符（当前 {len(text)} 个）")
    return text


def _refuse_invisible(text: str, multiline: bool) -> None:
    for char in text:
        if char in BIDI_CONTROLS:
            raise TextRefused("不能包含文字方向控制字符，请删除后重新输入")
        category = unicodedata.category(char)
        if char in "\n\r\u2028\u2029" and not multiline:
            raise TextRefused("请在一行内填写，不能换行")
        if category == "Cc" and not (multiline and char in "\n\t"):
            raise TextRefused("不能包含不可见的控制字符，请删除后重新输入")
        if category in ("Cf", "Cs") or _is_noncharacter(char):
            raise TextRefused("不能包含零宽字符等不可见字符，请删除后重新输入")


def _is_noncharacter(char: str) -> bool:
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE
