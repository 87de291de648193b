"""The notification texts of every shipped diagram, rendered as they are sent.

1. Every `notify.send` / `notify.office` subject and body of workflows/*.bpmn, and the 到期提醒 texts the
   renewal diagram keeps in its properties, render over realistic application data without a doubled
   full stop: a reviewer's reason usually ends with "。" and the text must not add a second one.
2. A menu a text sends the user to (登录平台“…”, 在“…”中) is one the platform's navigation has.

Realistic data means what the steps before the notice leave: a reason typed as a sentence, a badge as
`badge.issue` returns it, renewal lines as `domain.check_renewable` and `domain.extend_paid` return them.
A text naming something this sample lacks fails here, so a new text gets its sample too.
"""

from __future__ import annotations

import ast
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from app.services import notifications
from app.services.numerals import chinese_numeral
from app.services.process_context import procedure_values

ROOT = Path(__file__).resolve().parent.parent
NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
TEXT_PARAMETERS = ("subject", "body")
WARNING_TEXTS = ("expiryWarningSubject", "expiryWarningBody")
LINE = {"name": "鄂尔多斯市人民政府.政务", "expires_on": "2027-01-05"}
SAMPLE: dict[str, Any] = {
    "site_name": "鄂尔多斯市人民政府",
    "reason": "网站名称须与单位名称一致。",  # typed as a sentence, full stop included
    "badge": {
        "certificate_id": 7,
        "code": "CA15060020260000007",
        "public_id": "8f3a1c2e9b7d4e6f",
        "hang_deadline": "2026-10-10",
    },
    "domain_name": "鄂尔多斯市人民政府.政务",
    "years": 2,
    "amount_yuan": 600,
    "expires_on": "2028-10-10",
    "application_suffix": "政务",
    "renewal": {"lines": [LINE, {**LINE, "name": "鄂尔多斯市政府.政务"}], "contact_mobile": "13800138000"},
    "bill": {"amount_yuan": 1200, "charge_ids": [3, 4]},
    "renewed": [{**LINE, "expires_on": "2029-01-05"}, {**LINE, "name": "鄂尔多斯市政府.政务"}],
    # the 到期提醒 (services/domain_lifecycle.py)
    "days_left": 30,
    "grace_days": 30,
}


def diagrams() -> list[Path]:
    return sorted((ROOT / "workflows").glob("*.bpmn"))


def process_properties(root: etree._Element) -> dict[str, str]:
    properties = root.find("bpmn:process/bpmn:extensionElements/spiffworkflow:properties", NS)
    found = properties.iterfind("spiffworkflow:property", NS) if properties is not None else []
    return {p.get("name"): p.get("value") for p in found}


def texts(path: Path) -> list[tuple[str, str]]:
    """(where, template) of every notification text in the diagram."""
    root = etree.parse(str(path)).getroot()
    found = []
    for operator in root.iterfind(".//spiffworkflow:serviceTaskOperator", NS):
        if not operator.get("id", "").startswith("notify."):
            continue
        task = operator.getparent().getparent().get("id")
        for parameter in operator.iterfind(".//spiffworkflow:parameter", NS):
            if parameter.get("id") in TEXT_PARAMETERS:  # the value is a string literal of the diagram's language
                found.append((f"{path.name} {task}.{parameter.get('id')}", ast.literal_eval(parameter.get("value"))))
    properties = process_properties(root)
    found += [(f"{path.name} {name}", properties[name]) for name in WARNING_TEXTS if name in properties]
    return found


def rendered(path: Path) -> list[tuple[str, str]]:
    root = etree.parse(str(path)).getroot()
    variables = {**SAMPLE, **procedure_values(process_properties(root), date(2026, 9, 28))}
    return [(where, notifications.render(text, variables)) for where, text in texts(path)]


ALL_TEXTS = [pytest.param(path, id=path.stem) for path in diagrams()]


def test_the_sample_covers_every_name_the_texts_read() -> None:
    names = {name for path in diagrams() for _where, text in texts(path) for name in notifications.template_names(text)}

    assert names - set(SAMPLE) - {"procedure", "fee"} == set()
    assert len([t for path in diagrams() for t in texts(path)]) >= 20  # the texts were found at all


@pytest.mark.parametrize("path", ALL_TEXTS)
def test_no_rendered_text_has_a_doubled_full_stop(path: Path) -> None:
    for where, text in rendered(path):
        assert "。。" not in text, where
        assert not re.search(r"[，、；：]。", text), where


def test_a_reason_without_a_full_stop_still_ends_its_sentence() -> None:
    (path,) = [p for p in diagrams() if p.stem == "党政机关开办审核"]
    root = etree.parse(str(path)).getroot()
    variables = {**SAMPLE, "reason": "网站名称须与单位名称一致"}
    variables |= procedure_values(process_properties(root), date(2026, 9, 28))
    bodies = [notifications.render(t, variables) for where, t in texts(path) if "reject.body" in where]

    assert bodies and all("不通过原因：网站名称须与单位名称一致。请登录平台" in b for b in bodies)


def navigation_labels() -> set[str]:
    base = (ROOT / "app" / "templates" / "base.html").read_text(encoding="utf-8")
    return set(re.findall(r'class="nav-link"[^>]*>\{\{ _\("([^"]+)"\) \}\}', base))


MENU = re.compile(r"平台“([^”]+)”|在“([^”]+)”中(?!步骤)")


@pytest.mark.parametrize("path", ALL_TEXTS)
def test_every_menu_a_text_names_is_in_the_navigation(path: Path) -> None:
    """Notices, guides and instructions alike: the file's whole text."""
    named = {a or b for a, b in MENU.findall(path.read_text(encoding="utf-8"))}
    steps = set(re.findall(r'<bpmn:userTask id="[^"]+" name="([^"]+)"', path.read_text(encoding="utf-8")))

    assert named - steps - navigation_labels() == set()


def test_counts_are_written_in_chinese_in_the_paper_notice() -> None:
    (path,) = [p for p in diagrams() if p.stem == "党政机关开办审核"]
    copies = process_properties(etree.parse(str(path)).getroot())["paperCopies"]

    (notice,) = [text for where, text in rendered(path) if "notify_paper.body" in where]

    assert f"一式{chinese_numeral(copies)}份" in notice
