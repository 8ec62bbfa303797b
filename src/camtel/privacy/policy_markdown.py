"""Policy documents as HTML: Markdown rendered with raw HTML off, so the text stays text."""

from __future__ import annotations

from functools import cache

from markdown_it import MarkdownIt


@cache
def _parser() -> MarkdownIt:
    # CommonMark with tables; raw HTML in the source is shown as text, never passed through,
    # and link targets such as javascript: are refused by markdown-it's own check.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def to_html(text: str, *, heading_offset: int = 0) -> str:
    """The document as HTML safe to place in a page. `heading_offset` moves every heading
    down that many levels (a document's `#` becomes an h3 under a page's h2 with 2). Pure."""
    parser = _parser()
    tokens = parser.parse(text)
    if heading_offset:
        for token in tokens:
            if token.type in ("heading_open", "heading_close"):
                level = min(int(token.tag[1]) + heading_offset, 6)
                token.tag = f"h{level}"
    return str(parser.renderer.render(tokens, parser.options, {}))
