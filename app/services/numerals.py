"""Chinese numerals for counts in documents and notices (3 → 三; a count of 2 is 两: 一式两份)."""

from __future__ import annotations

_DIGITS = "零一二三四五六七八九"


def chinese_numeral(value: object) -> str:
    """1 → 一, 2 → 两, 10 → 十, 12 → 十二, 30 → 三十; anything else is returned unchanged as text.

    Before a measure word a lone 2 is 两 (一式两份, 两个工作日); in 十二 and 二十 it stays 二.
    """
    text = str(value).strip()
    if not text.isdigit() or not 0 < int(text) < 100:
        return text
    if int(text) == 2:
        return "两"
    tens, ones = divmod(int(text), 10)
    prefix = "" if tens == 0 else ("十" if tens == 1 else _DIGITS[tens] + "十")
    return prefix + (_DIGITS[ones] if ones else "")
