"""Rich text a unit types for its 网络红页: an allow-list of tags, nothing that runs (DOMAIN.md §7.4 d)."""

from __future__ import annotations

import html

import nh3

# Paragraphs, emphasis, lists, small headings, quotes and links: what a 机构介绍 or a news item needs.
# No images (carousel images go through the upload check), no tables, no style or class attributes.
ALLOWED_TAGS = frozenset({"p", "br", "strong", "b", "em", "i", "u", "ul", "ol", "li", "h3", "h4", "blockquote", "a"})
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
# javascript:, data: and every other scheme are dropped from links; relative links stay.
URL_SCHEMES = frozenset({"http", "https", "mailto"})


def sanitise(markup: str) -> str:
    """The markup with only the allowed tags and attributes; script and style elements lose their content too."""
    return nh3.clean(
        markup,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
    )


def visible_text(markup: str) -> str:
    """What a reader sees of the markup, as plain text without surrounding white space."""
    return html.unescape(nh3.clean(markup, tags=set())).replace("\xa0", " ").strip()


def from_plain_text(text: str) -> str:
    """Plain text (such as the registered 机构职能) as paragraphs of escaped markup."""
    return "".join(f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line.strip())
