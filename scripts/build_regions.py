"""Rebuild app/data/regions.csv (GB/T 2260 codes in force) from python-stdnum's cn/loc.dat.

Run by hand when python-stdnum ships newer division data: python scripts/build_regions.py
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import stdnum

SOURCE = Path(stdnum.__file__).parent / "cn" / "loc.dat"
TARGET = Path(__file__).resolve().parent.parent / "app" / "data" / "regions.csv"
_ENTRY = re.compile(r'\s*(\d{4}) county="(?:\[(\d*)-(\d*)\])?(.+)"')
_PROVINCE = re.compile(r'(\d{2}) province="(.+)"')
# The source writes these two names in traditional characters; the platform's pages are in simplified Chinese.
SIMPLIFIED_NAMES = {"香港特別行政區": "香港特别行政区", "澳門特別行政區": "澳门特别行政区"}


def level_of(code: str) -> tuple[str, str | None]:
    if code.endswith("0000"):
        return "province", None
    if code.endswith("00"):
        return "city", code[:2] + "0000"
    return "county", code[:4] + "00"


def rows() -> list[tuple[str, str, str, str]]:
    result: dict[str, tuple[str, str, str, str]] = {}
    province = ""
    for line in SOURCE.read_text(encoding="utf-8").splitlines():
        if match := _PROVINCE.fullmatch(line):
            province = match.group(1)
            name = SIMPLIFIED_NAMES.get(match.group(2), match.group(2))
            result[province + "0000"] = (province + "0000", name, "province", "")
        elif (match := _ENTRY.fullmatch(line)) and not match.group(3):  # no end year: still in force
            code = province + match.group(1)
            if code.endswith("0000"):
                continue
            level, parent = level_of(code)
            if level == "county" and match.group(4) == "市辖区":  # a statistical code, not a division
                continue
            result[code] = (code, match.group(4), level, parent or "")
    return sorted(result.values())


def main() -> None:
    with TARGET.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["code", "name", "level", "parent_code"])
        writer.writerows(rows())
    print(f"{TARGET}: {len(rows())} 条")


if __name__ == "__main__":
    main()
