"""Personal data shown masked (DOMAIN.md §7.8): mobiles as 138****8000, ID numbers as 110105********002X.

One helper for every page and export that shows such data: `mask_text` finds them inside any text (an
audit row's reason, a detail value), `mask_value` walks a JSON value. A run of 18 characters counts as an
ID number only when its ISO 7064 MOD 11-2 check character is right, so a unit's 18-digit USCC stays
readable (one in eleven would match by chance; masking it then loses nothing personal).
"""

from __future__ import annotations

import re
from typing import Any

_MOBILE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86)?(1[3-9]\d)(\d{4})(\d{4})(?![0-9A-Za-z])")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_ID_WEIGHTS = [pow(2, 17 - position, 11) for position in range(17)]


def mask_mobile(mobile: str) -> str:
    """138****8000: the carrier prefix and the last four stay, as on a bank statement."""
    return _MOBILE.sub(lambda m: f"{m[1]}****{m[3]}", mobile)


def mask_id_number(number: str) -> str:
    """110105********002X: the region of issue and the last four stay, the birth date goes."""
    return _ID_NUMBER.sub(_masked_id, number)


def mask_text(text: str) -> str:
    """The text with every mobile and ID number in it masked."""
    return mask_mobile(mask_id_number(text))


def mask_value(value: Any) -> Any:
    """A JSON value (dicts, lists, strings, numbers) with every string masked; an 11-digit number too."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {key: mask_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_value(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        masked = mask_text(str(value))
        return value if masked == str(value) else masked
    return value


def _masked_id(match: re.Match[str]) -> str:
    whole = match[0]
    return f"{match[1]}{'*' * 8}{match[3]}" if _id_check_character(whole[:17]) == whole[17].upper() else whole


def _id_check_character(first17: str) -> str:
    remainder = (12 - sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True)) % 11) % 11
    return "X" if remainder == 10 else str(remainder)
