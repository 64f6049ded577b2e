"""User-supplied HTML made inert with nh3 (Ammonia): no scripts, handlers, forms, remote tricks."""

from __future__ import annotations

import nh3

_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "div",
    "dl",
    "dt",
    "em",
    "font",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "li",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
_ATTRIBUTES = {
    "*": {"title", "dir", "lang", "align"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "font": {"color"},
}
# Remote images are tracking pixels and content-spoofing vectors: only inline (cid:) and data
# images survive; links keep http(s)/mailto/tel.
_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if value.startswith(("cid:", "data:image/")) else None
    if attribute == "href" and value.strip().lower().startswith(("data:", "cid:")):
        return None
    return value


def sanitize_html(html: str) -> str:
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES | {"data"},
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_filter_attribute,
        strip_comments=True,
    )


def html_to_text(html: str) -> str:
    """A plain-text rendering of HTML for channels and previews that need text."""
    import html as html_lib
    import re

    cleaned = nh3.clean(html or "", tags={"br", "p", "div", "li", "tr"}, attributes={})
    cleaned = re.sub(r"<\s*(br|/p|/div|/li|/tr)\s*/?>", "\n", cleaned, flags=re.I)
    cleaned = re.sub(r"<[^>]+>", "", cleaned)
    text = html_lib.unescape(cleaned)
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    text = re.sub(r"\n\s*\n\s*\n+", "\n\n", text)
    return "\n".join(line.strip() for line in text.splitlines()).strip()
