"""The public 办事指南: one card per deployed procedure, everything on it read from the diagram — who may
apply, the stages as numbered steps, deadlines, fees and paper materials from its properties, and its
documentation laid out in headings, lists and paragraphs — with a call to apply or log in."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from app.engine import get_engine
from app.extensions import db
from app.services import procedures, tariffs
from app.services.guide_text import Line, blocks
from app.services.numerals import chinese_numeral

STATIC = Path(__file__).resolve().parent.parent / "app/static"
SITE_REVIEW = "party_site_review"


class _Cards(HTMLParser):
    """Text of each procedure card (section.guide-card), and the tag path every text was found under."""

    def __init__(self) -> None:
        super().__init__()
        self.cards: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        self.classes: set[str] = set()
        self._stack: list[str] = []
        self._card = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.classes |= set((attributes.get("class") or "").split())
        if tag == "section" and "guide-card" in (attributes.get("class") or ""):
            self._card = attributes.get("id") or ""
            self.cards[self._card] = []
        if tag not in ("br", "img", "input", "meta", "link"):
            self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self._stack:
            while self._stack.pop() != tag:
                pass
        if tag == "section":
            self._card = ""

    def handle_data(self, data: str) -> None:
        if self._card and data.strip():
            self.cards[self._card].append((tuple(self._stack), data.strip()))

    def texts_under(self, card: str, tag: str) -> list[str]:
        return [text for path, text in self.cards[f"guide-{card}"] if tag in path]


def _parsed(page: str) -> _Cards:
    cards = _Cards()
    cards.feed(page)
    return cards


def _compiled(process_id: str) -> Any:
    definitions = get_engine().definitions
    return definitions.compiled(definitions.latest(db.session, process_id))


def test_every_deployed_procedure_is_a_card_with_its_stages_as_numbered_steps(client: Any) -> None:
    cards = _parsed(client.get("/").get_data(as_text=True))
    guides = procedures.guides()
    assert {f"guide-{g.process_id}" for g in guides} == set(cards.cards) and len(guides) == 5
    for guide in guides:
        compiled = _compiled(guide.process_id)
        listed = [s.strip() for s in compiled.process_properties["mainStages"].split(",")]
        items = [text for path, text in cards.cards[f"guide-{guide.process_id}"] if path[-2:] == ("ol", "li")]
        assert items[: len(listed)] == listed  # the first list of the card: the stages, one item each
        heading = cards.texts_under(guide.process_id, "h2")
        assert heading == [compiled.name]
        for unit_type in compiled.process_properties["unitTypes"].split(","):
            assert unit_type in cards.texts_under(guide.process_id, "span")


def test_deadlines_fees_and_paper_come_from_the_diagram_properties(client: Any) -> None:
    cards = _parsed(client.get("/").get_data(as_text=True))
    site_review = _compiled(SITE_REVIEW)
    facts = " ".join(cards.texts_under(SITE_REVIEW, "li"))
    assert f"初审：{site_review.process_properties['firstReviewDays']}个工作日" in facts
    assert f"确认纸质材料：{site_review.process_properties['paperReviewDays']}个工作日" in facts
    copies = chinese_numeral(int(site_review.process_properties["paperCopies"]))
    for title in site_review.process_properties["paperMaterials"].split(";"):
        assert f"《{title}》，一式{copies}份，加盖单位公章" in facts
    assert "经办人身份证复印件一份，加盖单位公章" in facts

    registration = _compiled("domain_registration")
    fees = tariffs.fees_on(registration.process_properties, get_engine().runner.clock().date())
    registration_facts = " ".join(cards.texts_under("domain_registration", "li"))
    assert fees and all(f"“.{suffix}”域名：每个每年{yuan}元" in registration_facts for suffix, yuan in fees.items())
    assert "无需报送纸质材料。" in cards.texts_under("domain_registration", "p")


def test_the_documentation_reads_as_headings_lists_and_paragraphs(client: Any) -> None:
    cards = _parsed(client.get("/").get_data(as_text=True))
    headings = cards.texts_under(SITE_REVIEW, "h3")
    assert {"一、依据", "四、办理流程", "六、申请材料", "办理流程", "办理时限"} <= set(headings)
    steps = [(path, text) for path, text in cards.cards[f"guide-{SITE_REVIEW}"] if "strong" in path]
    assert (("ol", "li", "strong"), "单位在线申请：") in [(p[-3:], t) for p, t in steps]
    registration_heads = cards.texts_under("domain_registration", "h3")
    assert "办理步骤" in registration_heads
    # No part of a guide is one block of text: the longest text run is a single line of the diagram's text.
    documentation = _compiled(SITE_REVIEW).documentation
    longest_line = max(len(line) for line in documentation.splitlines())
    assert max(len(text) for _path, text in cards.cards[f"guide-{SITE_REVIEW}"]) <= longest_line
    # The title line of the documentation repeats the card's heading: left out.
    assert documentation.splitlines()[0] not in " ".join(t for _p, t in cards.cards[f"guide-{SITE_REVIEW}"])


def test_every_class_on_the_page_is_styled_by_bootstrap_or_the_app(client: Any, login: Any) -> None:
    stylesheets = (STATIC / "vendor/bootstrap/css/bootstrap.min.css").read_text() + (STATIC / "app.css").read_text()
    defined = set(re.findall(r"\.(-?[_a-zA-Z][\w-]*)", stylesheets))
    for page in (client.get("/").get_data(as_text=True), login("unit1").get("/").get_data(as_text=True)):
        used = _parsed(page).classes
        assert used - defined == set()


def test_a_visitor_is_asked_to_log_in_and_a_unit_applies_for_what_its_type_may(client: Any, login: Any) -> None:
    anonymous = client.get("/").get_data(as_text=True)
    assert anonymous.count(">登录后申请</a>") == 5 and "立即申请" not in anonymous

    unit = login("unit2").get("/").get_data(as_text=True)  # 事业单位
    assert 'href="/unit/start/institution_badge"' in unit
    assert 'href="/unit/start/party_site_review"' not in unit
    assert "本事项不适用于事业单位" in unit and "登录后申请" not in unit
    reviewer = login("bianban").get("/").get_data(as_text=True)
    assert "立即申请" not in reviewer and "登录后申请" not in reviewer


def test_guide_text_blocks_follow_the_shapes_of_the_text() -> None:
    text = "\n".join(
        [
            "某事项 办事指南",
            "一、依据",
            "《某办法》。",
            "办理步骤：",
            "一、填写申请。单位填写申请。",
            "二、编办审核。同级编办审核。",
            "不通过的，修改后重新提交。",
            "三、缴费。缴纳费用。",
            "1. 在线申请表。",
            "适用对象：党政机关。",
        ]
    )
    laid_out = blocks(text, "某事项")
    assert [(b.kind, b.text, b.start) for b in laid_out] == [
        ("heading", "一、依据", 1),
        ("paragraph", "", 1),
        ("heading", "办理步骤", 1),
        ("list", "", 1),
        ("paragraph", "", 1),
        ("list", "", 3),
        ("list", "", 1),
        ("paragraph", "", 1),
    ]
    assert laid_out[3].lines == [Line("填写申请。", "单位填写申请。"), Line("编办审核。", "同级编办审核。")]
    assert laid_out[4].lines == [Line("", "不通过的，修改后重新提交。")]  # no lead before a comma
    assert laid_out[7].lines == [Line("适用对象：", "党政机关。")]


def test_health_check(client: Any) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
