"""Template injection in every text a diagram or policy staff write.

Texts are Jinja in a sandbox (app/engine/texts.TextSandbox): element texts and documentation, form titles and
descriptions, notification texts, print templates, and the studio's previews of each. A case is refused when
the surface answers with its Chinese error, or renders without leaking anything of Python: no class, module,
function or object repr, no file content. The unit's own data is data: a `{{ }}` typed into a form is shown
as typed, never evaluated.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from app.engine import texts
from app.engine.texts import TextError
from app.services import notifications, studio_preview
from app.services.errors import ServiceRefusal
from tests.attacks.tally import attempt

ATTACK = "template injection"
# What a successful escape shows: reprs of Python objects, a module, or /etc/passwd.
LEAK = re.compile(r"<(class|module|function|built-in|bound|jinja2|Template)|object at 0x|root:x:0|subprocess")
ESCAPES = {
    "subclasses of object": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "cycler globals": "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "joiner globals": "{{ joiner.__init__.__globals__ }}",
    "namespace globals": "{{ namespace.__init__.__globals__ }}",
    "lipsum globals": "{{ lipsum.__globals__['os'] }}",
    "range's module": "{{ range.__self__ }}",
    "attr filter": "{{ ''|attr('__class__') }}",
    "attr filter chain": "{{ (''|attr('__class__')|attr('__mro__'))[1]|attr('__subclasses__')() }}",
    "str.format": "{{ '{0.__class__.__mro__}'.format(1) }}",
    "str.format_map": "{{ '{a.__class__}'.format_map({'a': 1}) }}",
    "format reached by attr": "{{ ('{0.__class__}'|attr('format'))(1) }}",
    "format filter": "{{ '%s'|format(''.__class__) }}",
    "self reference": "{{ self.__init__.__globals__ }}",
    "private context": "{{ self._TemplateReference__context }}",
    "a cycler's class": "{{ cycler(1).__class__.__init__ }}",
    "bound method self": "{{ [].pop.__self__.__class__ }}",
    "loop over subclasses": "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "namespace attribute": "{% set n = namespace() %}{% set n.k = ''.__class__ %}{{ n.k }}",
    "include": "{% include '/etc/passwd' %}",
    "import": "{% import '/etc/passwd' as p %}{{ p }}",
    "from-import": "{% from '/etc/passwd' import p %}{{ p }}",
    "extends": "{% extends '/etc/passwd' %}",
}
# Huge values built in one expression: refused before they are built (the 100 MB string would take ~0.1 s).
EXHAUSTION = {
    "string repetition": "{{ 'a' * 100000000 }}",
    "data repetition": "{{ x * 100000000 }}",
    "huge power": "{{ (7 ** 200000) % 10 }}",
    "huge range": "{{ range(10**9)|list|length }}",
}
LETTER_HEAD = "---\ntitle: 攻击\ncopies: 1\n---\n"


def _form(title: str) -> str:
    return json.dumps({"type": "object", "title": title, "properties": {"a": {"type": "string", "title": "甲"}}})


SURFACES: dict[str, Callable[[str], str]] = {
    "element text": lambda text: texts.render(text, {"x": "abc"}),
    "notification text": lambda text: notifications.render(text, {"x": "abc"}),
    "print template": lambda text: str(
        studio_preview.document_preview("documents/attack.md", LETTER_HEAD + text, {}, {})
    ),
    "studio text preview": lambda text: studio_preview.text_preview(text, {}, {"x": "abc"}).text,
    "form title": lambda text: str(studio_preview.form_fields("attack.schema.json", _form(text), {})[0]),
}
CASES = [(surface, name) for surface in SURFACES for name in {**ESCAPES, **EXHAUSTION}]


def _refused_or_clean(surface: str, text: str) -> None:
    """Refused with a Chinese message, or rendered with nothing of Python in it."""
    started = time.monotonic()
    try:
        shown = SURFACES[surface](text)
    except (TextError, ServiceRefusal) as refusal:
        shown = str(refusal)
        assert re.search(r"[\u4e00-\u9fff]", shown)
    assert not LEAK.search(shown), shown[:300]
    assert time.monotonic() - started < 2


class TestSandboxEscapes:
    """Jinja sandbox escapes on every surface: class and subclass chains; the cycler, joiner, namespace,
    lipsum and range globals; the attr filter; str.format, format_map and the format filter; self and the
    template context; {% include %}, {% import %}, {% from %} and {% extends %}; and values too large to
    build ('a' * 10**8, 7 ** 200000, range(10**9)). Each is refused or renders without a leak."""

    @pytest.mark.parametrize(("surface", "name"), CASES, ids=[f"{s}: {n}" for s, n in CASES])
    def test_the_text_is_refused(self, surface: str, name: str) -> None:
        with attempt(ATTACK, f"{surface}: {name}"):
            _refused_or_clean(surface, {**ESCAPES, **EXHAUSTION}[name])

    @pytest.mark.parametrize("name", ["include", "extends", "string repetition", "huge power"])
    def test_the_refusal_is_a_chinese_message_not_a_crash(self, name: str) -> None:
        """Before TextSandbox these raised TypeError (no loader) or built the value: a 500 in the studio."""
        with attempt(ATTACK, f"Chinese refusal: {name}"), pytest.raises(TextError, match="文字"):
            texts.render({**ESCAPES, **EXHAUSTION}[name], {"x": "abc"})


class TestSecondOrderInjection:
    """A unit's data holding template syntax is shown as typed in notification texts, print templates and
    the studio's previews: the sandbox renders the policy's text once, never the data inside it."""

    PAYLOAD = "{{ 7 * 7 }}{% include '/etc/passwd' %}{{ ''.__class__ }}"

    def test_notification_data_is_not_evaluated(self) -> None:
        with attempt(ATTACK, "second order: notification data"):
            assert notifications.render("您好，{{ name }}", {"name": self.PAYLOAD}) == f"您好，{self.PAYLOAD}"

    def test_element_text_data_is_not_evaluated(self) -> None:
        with attempt(ATTACK, "second order: element text data"):
            assert texts.render("{{ procedure.note }}", {"procedure": {"note": self.PAYLOAD}}) == self.PAYLOAD


class TestStudioRoutes:
    """The studio's preview routes answer a hostile text with a 400 and a Chinese message (or a clean
    rendering), never a 500 or a leak."""

    @pytest.mark.parametrize("name", ["subclasses of object", "include", "string repetition", "format reached by attr"])
    @pytest.mark.parametrize("route", ["text", "document", "form"])
    def test_the_preview_route_refuses(self, route: str, name: str, policy_client: Any) -> None:
        text = {**ESCAPES, **EXHAUSTION}[name]
        payload = {
            "text": {"text": text, "document": LETTER_HEAD + text, "form": _form(text)}[route],
            "path": "documents/attack.md",
            "name": "attack.schema.json",
        }
        with attempt(ATTACK, f"studio preview {route}: {name}"):
            response = policy_client.post(f"/studio/preview/{route}", json=payload)
            body = response.get_data(as_text=True)
            assert response.status_code in (200, 400), body[:300]
            assert not LEAK.search(body.replace("&lt;", "<")), body[:300]
