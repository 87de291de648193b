"""The interface speaks Chinese first; an English catalogue follows when a user picks it.

The catalogue must stay complete: every text the code marks for translation has a reviewed English
translation. After changing interface texts, run (from the project root)

    pybabel extract -F babel.cfg -k lazy_gettext -k _l -o translations/messages.pot .
    pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete
    (translate the new msgids in translations/en/LC_MESSAGES/messages.po)
    pybabel compile -d translations

Diagram, form and print-template texts are policy data and stay Chinese in both languages.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask_babel import refresh
from sqlalchemy import select

from app.extensions import db
from app.models import Office, Unit, User, WorkflowDefinition

ROOT = Path(__file__).resolve().parent.parent
ENGLISH = ROOT / "translations" / "en" / "LC_MESSAGES"
KEYWORDS = ("lazy_gettext", "_l")  # the code's names for gettext beyond babel's defaults (_, gettext, ngettext …)
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def page(client: Any, url: str) -> str:
    # The fixture's app context spans the whole test, so Flask-Babel's per-context cache would
    # keep the first request's language; in production every request has a context of its own.
    refresh()
    return str(client.get(url).get_data(as_text=True))


def test_pages_are_chinese_by_default(client: Any) -> None:
    html = page(client, "/login")
    assert "用户登录" in html and 'lang="zh-CN"' in html


def test_english_is_chosen_once_and_kept_in_the_session(client: Any) -> None:
    html = page(client, "/login?lang=en")
    assert "User name" in html and "Service guide" in html
    assert "Register" in page(client, "/login")
    assert "用户登录" in page(client, "/login?lang=zh_CN")


def test_the_language_survives_logging_out(login: Any, client: Any) -> None:
    login("unit1")
    page(client, "/unit/?lang=en")
    client.post("/logout")
    assert "User name" in page(client, "/login")


# ---- the catalogue is complete ----------------------------------------------------------------------


def _extracted(folder: Path) -> Catalog:
    """What `pybabel extract` finds in the code now, with the project's mapping and keywords."""
    template = folder / "messages.pot"
    keywords = [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    args = ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), *keywords, "-o", str(template), str(ROOT)]
    CommandLineInterface().run(args)
    with template.open("rb") as read:
        return read_po(read)


def _english() -> Catalog:
    with (ENGLISH / "messages.po").open("rb") as read:
        return read_po(read)


def _strings(message: Message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def _problem(message: Message | None) -> str | None:
    """Why a catalogue entry cannot be shown in English, or None when it can."""
    if message is None:
        return "not in the catalogue"
    if message.fuzzy:
        return "fuzzy"
    if not all(_strings(message)):
        return "untranslated"
    msgids = message.id if isinstance(message.id, tuple) else (message.id,)
    wanted = {p for msgid in msgids for p in PLACEHOLDER.findall(msgid)}
    if any(set(PLACEHOLDER.findall(text)) != wanted for text in _strings(message)):
        return f"placeholders differ from {sorted(wanted)}"
    return None


def test_every_marked_text_has_an_english_translation(tmp_path: Path) -> None:
    english = _english()
    problems = {
        f"{Path(message.locations[0][0]).relative_to(ROOT)}:{message.locations[0][1]} {message.id!r}": problem
        for message in _extracted(tmp_path)
        if message.id and (problem := _problem(english.get(message.id))) is not None
    }
    assert not problems, "translate these in messages.po (see this module's docstring):\n" + "\n".join(
        f"{where}: {problem}" for where, problem in problems.items()
    )


def test_the_catalogue_has_no_fuzzy_or_empty_entries() -> None:
    problems = {message.id: _problem(message) for message in _english() if message.id}
    assert not {msgid: problem for msgid, problem in problems.items() if problem}


def test_the_compiled_catalogue_matches_the_translations() -> None:
    """The pages read the .mo file: a .po edited but not compiled would show Chinese."""
    mo_file = ENGLISH / "messages.mo"
    assert mo_file.exists(), "run: pybabel compile -d translations"
    with mo_file.open("rb") as read:
        compiled = {_key(message.id): _key(message.string) for message in read_mo(read) if message.id}
    written = {_key(message.id): _key(message.string) for message in _english() if message.id and message.string}
    assert compiled == written, "run: pybabel compile -d translations"


def _key(text: str | list[str] | tuple[str, ...]) -> str | tuple[str, ...]:
    """A plural entry's forms are a list in a .mo file and a tuple in a .po file."""
    return text if isinstance(text, str) else tuple(text)


# ---- key pages in English -------------------------------------------------------------------------------

# Elements whose text is the interface's own: the navigation, the headings, table heads, labels, buttons.
INTERFACE_TAGS = {"title", "nav", "h1", "h2", "h3", "h4", "h5", "h6", "th", "label", "button", "legend", "caption"}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
KEY_PAGES = (
    (None, "/login"),
    ("unit1", "/unit/"),  # the unit's home: 我要办理
    ("unit1", "/messages/"),  # 消息中心
    ("unit1", "/unit/badges/"),  # 标识管理
    ("unit1", "/unit/red-page/"),  # 红页管理
    ("bianban", "/review/"),  # the reviewer's inbox, with the 编办's navigation
    ("conac", "/review/"),
    ("policy", "/studio/"),
    ("admin", "/admin/users"),
)


class _InterfaceText(HTMLParser):
    """Collects the text inside interface elements (and Bootstrap card headers)."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[bool] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID_TAGS:
            classes = (dict(attrs).get("class") or "").split()
            self.open.append(tag in INTERFACE_TAGS or "card-header" in classes)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID_TAGS and self.open:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        if any(self.open) and data.strip():
            self.texts.append(data.strip())


def _data_texts() -> list[str]:
    """Names that are data, not interface: people, units, offices, roles (lane names), procedures (diagrams).
    Longest first, so a name is removed before a shorter name inside it."""
    names = {
        *db.session.scalars(select(User.display_name)),
        *db.session.scalars(select(User.role)),
        *db.session.scalars(select(Unit.name)),
        *db.session.scalars(select(Office.name)),
        *db.session.scalars(select(WorkflowDefinition.name)),
    }
    return sorted((name for name in names if name), key=len, reverse=True)


def _chinese_interface_texts(html: str, data: list[str]) -> list[str]:
    parser = _InterfaceText()
    parser.feed(html)
    found = []
    for text in parser.texts:
        rest = text
        for name in data:
            rest = rest.replace(name, "")
        if CJK.search(rest):
            found.append(text)
    return found


def test_key_pages_in_english_have_no_chinese_in_their_navigation_and_headings(login: Any, client: Any) -> None:
    data = _data_texts()
    problems = {}
    for username, url in KEY_PAGES:
        if username is not None:
            login(username)
        html = page(client, f"{url}?lang=en")
        assert 'lang="en"' in html, url
        if found := _chinese_interface_texts(html, data):
            problems[f"{username} {url}"] = found
    assert not problems
