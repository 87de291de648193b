"""Task forms are drawn from the same JSON Schema the engine validates with, and parsed back.

* Each schema property becomes one field, in schema order, with the schema's title and description.
* The widget follows the schema: a choice between a few `oneOf` options is a set of radio buttons,
  more options a drop-down list, an array a set of checkboxes (options from the page or from
  `items.oneOf`), integers a number box, `format: email` an e-mail box, long free text a text area.
* A field is marked required when the schema requires it, also when an `if`/`then` condition of
  the schema holds for the data so far (服务器IP once 主机信息 is 服务器IP).
* Posted forms are parsed to task data: numbers are numbers, lists come from every checked box,
  empty optional fields are left out, and fields the schema does not know never get through.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template_string
from werkzeug.datastructures import MultiDict

from app.taskforms.render import fields, parse

FORMS = Path(__file__).resolve().parent.parent / "forms"


def schema(name: str) -> dict[str, Any]:
    return json.loads((FORMS / f"{name}.schema.json").read_text(encoding="utf-8"))


def by_name(views: list[Any]) -> dict[str, Any]:
    return {view.name: view for view in views}


def test_every_property_becomes_one_field_in_schema_order_with_its_texts() -> None:
    form = schema("domain-application")
    views = fields(form, {}, {})
    assert [v.name for v in views] == list(form["properties"])
    domain = views[0]
    assert domain.title == "中文域名"
    assert domain.description.startswith("须带后缀")


@pytest.mark.parametrize(
    ("form", "field", "kind"),
    [
        ("domain-application", "domain_name", "text"),
        ("domain-application", "years", "number"),
        ("domain-application", "contact_email", "email"),
        ("domain-application", "host_mode", "radio"),
        ("domain-application", "host_url", "text"),  # long, but a host name is no prose
        ("site-application", "site_intro", "textarea"),
        ("site-application", "domains", "lines"),  # no options offered: one domain per line
        ("review-decision", "decision", "radio"),
        ("review-decision", "reason", "textarea"),
    ],
)
def test_the_widget_follows_the_schema(form: str, field: str, kind: str) -> None:
    assert by_name(fields(schema(form), {}, {}))[field].kind == kind


def test_many_options_become_a_drop_down_list() -> None:
    form = {"properties": {"level": {"type": "string", "title": "级别", "enum": ["省", "市", "县", "乡"]}}}
    (view,) = fields(form, {}, {})
    assert view.kind == "select"
    assert [o.label for o in view.options] == ["省", "市", "县", "乡"]


def test_an_array_with_choices_from_the_page_is_a_set_of_checkboxes() -> None:
    offered = {"domains": [("甲.政务", "甲.政务（有效期至 2027-01-05）"), ("乙.政务", "乙.政务")]}
    views = by_name(fields(schema("site-application"), {"domains": ["乙.政务"]}, {}, offered))
    domains = views["domains"]
    assert domains.kind == "checkboxes"
    assert [(o.value, domains.is_selected(o)) for o in domains.options] == [("甲.政务", False), ("乙.政务", True)]


def test_values_come_from_the_data_and_defaults_fill_the_gaps() -> None:
    views = by_name(fields(schema("domain-application"), {"domain_name": "某单位.政务", "host_mode": "none"}, {}))
    assert views["domain_name"].value == "某单位.政务"
    assert views["years"].value == "1"  # the schema's default
    assert views["host_mode"].value == "none"
    assert views["host_ip"].value == ""


def test_a_condition_of_the_schema_makes_a_field_required() -> None:
    form = schema("domain-application")
    assert not by_name(fields(form, {"host_mode": "none"}, {}))["host_ip"].required
    assert by_name(fields(form, {"host_mode": "ip"}, {}))["host_ip"].required
    assert by_name(fields(form, {"host_mode": "url"}, {}))["host_url"].required
    decision = schema("review-decision")
    reason = by_name(fields(decision, {"decision": "reject"}, {}))["reason"]
    assert (reason.required, reason.title) == (True, "不通过原因")  # `then` also renames the field


def test_errors_stand_next_to_their_fields() -> None:
    views = by_name(fields(schema("domain-application"), {}, {"contact_mobile": "请输入11位手机号码"}))
    assert views["contact_mobile"].error == "请输入11位手机号码"
    assert views["domain_name"].error is None


def test_parse_coerces_numbers_lists_and_drops_empty_and_unknown_fields() -> None:
    posted = MultiDict(
        [
            ("domain_name", " 某单位.政务 "),
            ("years", "3"),
            ("host_mode", "none"),
            ("host_ip", ""),
            ("is_admin", "1"),
        ]
    )
    assert parse(schema("domain-application"), posted) == {
        "domain_name": "某单位.政务",
        "years": 3,
        "host_mode": "none",
    }
    checked = MultiDict([("domains", "甲.政务"), ("domains", "乙.政务"), ("domains", "")])
    assert parse(schema("site-application"), checked) == {"domains": ["甲.政务", "乙.政务"]}
    lines = MultiDict([("domains", "甲.政务\r\n\r\n乙.政务\n")])
    assert parse(schema("site-application"), lines) == {"domains": ["甲.政务", "乙.政务"]}


def test_a_number_that_does_not_parse_stays_text_for_the_validator_to_name() -> None:
    assert parse(schema("domain-application"), MultiDict([("years", "两年")])) == {"years": "两年"}


def test_the_macro_draws_labels_help_and_errors_for_assistive_technology(app: Flask) -> None:
    views = fields(schema("domain-application"), {"host_mode": "ip"}, {"host_ip": "请填写网站服务器IP"})
    with app.test_request_context():
        html = render_template_string(
            '{% from "partials/jsonform.html" import render_fields %}{{ render_fields(views) }}', views=views
        )
    assert '<label class="form-label required" for="field-host_ip">网站服务器IP</label>' in html
    assert 'class="form-control is-invalid"' in html
    assert 'aria-describedby="field-host_ip-help field-host_ip-error" aria-invalid="true"' in html
    assert '<div class="invalid-feedback d-block" id="field-host_ip-error">请填写网站服务器IP</div>' in html
    assert 'value="ip" checked' in html
    assert 'type="number" name="years"' in html
