"""A procedure's documentation (its 办事指南, plain text in the diagram) as blocks a page can lay out.

The texts are written the way government guides are: section headings ("一、依据", "办理步骤："),
numbered lines ("1. …", "二、编办审核。…") and paragraphs, one per line. Nothing here knows a
procedure: the shapes are read from the text, so an edited guide lays itself out the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CHINESE_DIGITS = "一二三四五六七八九十"
# "一、依据": a Chinese ordinal and a few words, no full stop: a section heading.
_SECTION = re.compile(rf"^[{CHINESE_DIGITS}]+、[^。；]{{1,18}}$")
# "办理步骤：" alone on its line introduces what follows.
_LEAD_IN = re.compile(r"^[^。；：]{1,12}：$")
# "1. …", "1、…", "二、编办审核。…": one numbered item of a list.
_ITEM = re.compile(rf"^(?:(\d{{1,2}})[.、．]\s*|([{CHINESE_DIGITS}]{{1,3}})、)(.+)$")
# The few words an item or paragraph opens with ("填写申请。", "适用对象："), shown in bold.
_LEAD = re.compile(r"^([^。；：，,]{1,12})([。：])(.+)$")


@dataclass(frozen=True)
class Line:
    lead: str  # the opening words with their mark ("填写申请。"), "" when the line has none
    text: str  # the rest


@dataclass
class Block:
    kind: str  # heading / paragraph / list
    text: str = ""  # heading text
    lines: list[Line] = field(default_factory=list)  # the paragraph (one line) or the list's items
    start: int = 1  # the number of a list's first item


def blocks(documentation: str, title: str = "") -> list[Block]:
    """The documentation in blocks; a first line that only repeats the procedure's `title` is left out."""
    lines = [line.strip() for line in documentation.splitlines() if line.strip()]
    if lines and title and _is_title(lines[0], title):
        lines = lines[1:]
    result: list[Block] = []
    for line in lines:
        if _SECTION.match(line) or _LEAD_IN.match(line):
            result.append(Block("heading", text=line.rstrip("：")))
        elif item := _ITEM.match(line):
            number = int(item.group(1)) if item.group(1) else _chinese_number(item.group(2))
            _add_item(result, number, _split_lead(item.group(3)))
        else:
            result.append(Block("paragraph", lines=[_split_lead(line, paragraph=True)]))
    return result


def _is_title(line: str, title: str) -> bool:
    squeezed = re.sub(r"\s+", "", line)
    return re.sub(r"\s+", "", title) in squeezed and "。" not in squeezed


def _add_item(result: list[Block], number: int, line: Line) -> None:
    """Consecutive numbered lines make one list; a number that does not follow on starts another."""
    last = result[-1] if result else None
    if last is not None and last.kind == "list" and number == last.start + len(last.lines):
        last.lines.append(line)
    else:
        result.append(Block("list", lines=[line], start=number))


def _split_lead(text: str, paragraph: bool = False) -> Line:
    """Line "二、编办审核。同级…" has the lead "编办审核。"; a paragraph only has one before a colon."""
    match = _LEAD.match(text)
    if match is None or (paragraph and match.group(2) != "："):
        return Line("", text)
    return Line(match.group(1) + match.group(2), match.group(3).strip())


def _chinese_number(numeral: str) -> int:
    """一 … 九十九, as the ordinals of a guide's steps are written."""
    values = {digit: index for index, digit in enumerate(CHINESE_DIGITS[:9], start=1)}
    if "十" not in numeral:
        return values.get(numeral, 1)
    tens, _, ones = numeral.partition("十")
    return values.get(tens, 1) * 10 + values.get(ones, 0)
