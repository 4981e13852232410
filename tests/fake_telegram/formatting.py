"""parse_mode handling: turn HTML / MarkdownV2 / Markdown text into (plain text, entities).

Telegram returns messages without markup, with MessageEntity offsets counted in UTF-16 code units,
and refuses malformed markup with ``can't parse entities: ...``. Emulating that catches the most
common bot bug (unescaped user input in HTML or MarkdownV2) in tests instead of production.
The parsers follow TDLib's rules closely enough for bots; exotic corner cases may differ.
"""

from __future__ import annotations

import re
from typing import Any

from .spec import ApiError, bad_request

Entity = dict[str, Any]

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _cant_parse(reason: str) -> ApiError:
    return bad_request(f"can't parse entities: {reason}")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


class _Builder:
    """Accumulates plain text and entities while a parser walks the marked-up source."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pos16 = 0
        self.entities: list[Entity] = []

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.pos16 += utf16_len(text)

    def entity(self, kind: str, start16: int, **extra: Any) -> None:
        length = self.pos16 - start16
        if length > 0:
            self.entities.append({"type": kind, "offset": start16, "length": length, **extra})

    def result(self) -> tuple[str, list[Entity]]:
        ents = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), ents


def parse_html(source: str) -> tuple[str, list[Entity]]:
    out = _Builder()
    stack: list[tuple[str, int, dict[str, Any]]] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "&":
            m = re.match(r"&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);", source[i:])
            if m:
                name = m.group(1)
                if name.startswith("#x"):
                    out.add(chr(int(name[2:], 16)))
                elif name.startswith("#"):
                    out.add(chr(int(name[1:])))
                elif name in _HTML_ENTITIES:
                    out.add(_HTML_ENTITIES[name])
                else:
                    out.add(m.group(0))
                i += len(m.group(0))
                continue
            out.add(ch)
            i += 1
            continue
        if ch != "<":
            out.add(ch)
            i += 1
            continue
        begin = i
        if i + 1 < n and source[i + 1] == "/":
            end = source.find(">", i)
            if end == -1:
                raise _cant_parse(f"Can't find end tag at byte offset {_byte_offset(source, begin)}")
            tag = source[i + 2 : end].strip().lower()
            if not stack:
                raise _cant_parse(f"Unexpected end tag at byte offset {_byte_offset(source, begin)}")
            open_tag, start16, attrs = stack.pop()
            if tag != open_tag:
                raise _cant_parse(
                    f"Unmatched end tag at byte offset {_byte_offset(source, begin)}, "
                    f'expected "</{open_tag}>", found "</{tag}>"'
                )
            _close_html(out, open_tag, start16, attrs, stack)
            i = end + 1
            continue
        j = i + 1
        while j < n and not source[j].isspace() and source[j] not in ">/":
            j += 1
        tag = source[i + 1 : j].lower()
        if tag not in _HTML_TAGS:
            raise _cant_parse(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(source, begin)}')
        end = source.find(">", j)
        if end == -1:
            raise _cant_parse(f"Can't find end of the tag at byte offset {_byte_offset(source, begin)}")
        attrs = _html_attrs(source[j:end])
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise _cant_parse('Tag "span" must have class "tg-spoiler"')
        stack.append((tag, out.pos16, attrs))
        i = end + 1
    if stack:
        raise _cant_parse(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


def _html_attrs(text: str) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for m in re.finditer(r"([a-zA-Z_-]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+))?", text):
        value = m.group(2)
        if value and value[0] in "\"'":
            value = value[1:-1]
        attrs[m.group(1).lower()] = value if value is not None else True
    return attrs


def _close_html(
    out: _Builder, tag: str, start16: int, attrs: dict[str, Any], stack: list[tuple[str, int, dict[str, Any]]]
) -> None:
    kind = _HTML_TAGS[tag]
    if tag == "a":
        href = str(attrs.get("href") or "")
        if not href:
            return  # Telegram keeps the text but drops a link without a URL
        out.entity("text_link", start16, url=href)
    elif tag == "code" and stack and stack[-1][0] == "pre":
        # <pre><code class="language-x"> is one pre entity with a language, as in TDLib.
        lang = str(attrs.get("class") or "")
        if lang.startswith("language-"):
            stack[-1][2]["language"] = lang.removeprefix("language-")
        else:
            out.entity("code", start16)
    elif tag == "pre":
        extra = {"language": attrs["language"]} if attrs.get("language") else {}
        out.entity("pre", start16, **extra)
    elif tag == "blockquote":
        out.entity("expandable_blockquote" if attrs.get("expandable") else "blockquote", start16)
    elif tag == "tg-emoji":
        out.entity("custom_emoji", start16, custom_emoji_id=str(attrs.get("emoji-id") or ""))
    else:
        out.entity(kind, start16)


_MDV2_MARKERS = [
    ("||", "spoiler"),
    ("__", "underline"),
    ("*", "bold"),
    ("_", "italic"),
    ("~", "strikethrough"),
]
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "text_link": "TextUrl",
}


def parse_markdown_v2(source: str) -> tuple[str, list[Entity]]:
    out = _Builder()
    stack: list[tuple[str, int, int]] = []  # (kind, start16, source index)
    i, n = 0, len(source)
    line_start = True
    quote_start: int | None = None
    while i < n:
        ch = source[i]
        if line_start and ch == ">" and not stack:
            if quote_start is None:
                quote_start = out.pos16
            i += 1
            line_start = False
            continue
        if line_start and quote_start is not None:
            out.entity("blockquote", quote_start)
            quote_start = None
        line_start = False
        if ch == "\\":
            if i + 1 < n and 0 < ord(source[i + 1]) <= 126:
                out.add(source[i + 1])
                i += 2
                continue
            out.add(ch)
            i += 1
            continue
        if ch == "\n":
            out.add(ch)
            i += 1
            line_start = True
            if quote_start is not None and not (i < n and source[i] == ">"):
                out.entity("blockquote", quote_start)
                quote_start = None
            continue
        if ch == "`":
            i = _mdv2_code(source, i, out)
            continue
        if ch == "[" or (ch == "!" and source[i + 1 : i + 2] == "["):
            stack.append(("text_link", out.pos16, i))
            i += 2 if ch == "!" else 1
            continue
        if ch == "]" and stack and stack[-1][0] == "text_link":
            _, start16, _src = stack.pop()
            if source[i + 1 : i + 2] != "(":
                raise _cant_parse(f"Can't find end of a url at byte offset {_byte_offset(source, i)}")
            end = source.find(")", i + 2)
            if end == -1:
                raise _cant_parse(f"Can't find end of a url at byte offset {_byte_offset(source, i)}")
            url = source[i + 2 : end].replace("\\)", ")").replace("\\\\", "\\")
            if url.startswith("tg://emoji?id="):
                out.entity("custom_emoji", start16, custom_emoji_id=url.removeprefix("tg://emoji?id="))
            else:
                out.entity("text_link", start16, url=url)
            i = end + 1
            continue
        marker = next(((m, k) for m, k in _MDV2_MARKERS if source.startswith(m, i)), None)
        if marker:
            m, kind = marker
            if stack and stack[-1][0] == kind:
                _, start16, _src = stack.pop()
                out.entity(kind, start16)
            elif any(k == kind for k, _, _ in stack):
                raise _cant_parse(
                    f"Can't find end of {_MDV2_NAMES[kind]} entity at byte offset {_byte_offset(source, i)}"
                )
            else:
                stack.append((kind, out.pos16, i))
            i += len(m)
            continue
        if ch in _MDV2_RESERVED:
            raise _cant_parse(f"Character '{ch}' is reserved and must be escaped with the preceding '\\'")
        out.add(ch)
        i += 1
    if quote_start is not None:
        out.entity("blockquote", quote_start)
    if stack:
        kind, _, src = stack[-1]
        raise _cant_parse(
            f"Can't find end of {_MDV2_NAMES.get(kind, kind)} entity at byte offset {_byte_offset(source, src)}"
        )
    return out.result()


def _mdv2_code(source: str, i: int, out: _Builder) -> int:
    """Parse `code` or ```pre``` starting at i; inside, only ` and \\ are escapable."""
    pre = source.startswith("```", i)
    delim = "```" if pre else "`"
    j = i + len(delim)
    language = ""
    if pre:
        nl = source.find("\n", j)
        first = source[j:nl] if nl != -1 else ""
        if nl != -1 and first and " " not in first and "`" not in first:
            language = first
            j = nl + 1
    start16 = out.pos16
    n = len(source)
    while j < n:
        if source[j] == "\\" and j + 1 < n:
            out.add(source[j + 1])
            j += 2
            continue
        if source.startswith(delim, j):
            extra = {"language": language} if language else {}
            out.entity("pre" if pre else "code", start16, **extra)
            return j + len(delim)
        out.add(source[j])
        j += 1
    name = "Pre" if pre else "Code"
    raise _cant_parse(f"Can't find end of {name} entity at byte offset {_byte_offset(source, i)}")


def parse_markdown(source: str) -> tuple[str, list[Entity]]:
    """Legacy Markdown: *bold* _italic_ `code` ```pre``` [text](url), backslash escapes."""
    out = _Builder()
    i, n = 0, len(source)
    kinds = {"*": "bold", "_": "italic"}
    while i < n:
        ch = source[i]
        if ch == "\\" and i + 1 < n and source[i + 1] in "_*`[":
            out.add(source[i + 1])
            i += 2
            continue
        if ch in kinds or ch == "`":
            delim = "```" if source.startswith("```", i) else ch
            end = source.find(delim, i + len(delim))
            if end == -1:
                raise _cant_parse(f"Can't find end of the entity starting at byte offset {_byte_offset(source, i)}")
            start16 = out.pos16
            out.add(source[i + len(delim) : end])
            kind = "pre" if delim == "```" else kinds.get(ch, "code")
            out.entity(kind, start16)
            i = end + len(delim)
            continue
        if ch == "[":
            m = re.match(r"\[([^\]]*)\]\(([^)]*)\)", source[i:])
            if not m:
                raise _cant_parse(f"Can't find end of the entity starting at byte offset {_byte_offset(source, i)}")
            start16 = out.pos16
            out.add(m.group(1))
            out.entity("text_link", start16, url=m.group(2))
            i += len(m.group(0))
            continue
        out.add(ch)
        i += 1
    return out.result()


def render(text: str, parse_mode: str | None, entities: list[Entity] | None) -> tuple[str, list[Entity]]:
    """The text and entities Telegram would store for a bot's text/caption parameters."""
    if entities:
        return text, list(entities)
    mode = (parse_mode or "").strip().lower()
    if not mode:
        plain, ents = text, []
    elif mode == "html":
        plain, ents = parse_html(text)
    elif mode == "markdownv2":
        plain, ents = parse_markdown_v2(text)
    elif mode == "markdown":
        plain, ents = parse_markdown(text)
    else:
        raise bad_request(f"unsupported parse_mode: {parse_mode}")
    return _strip(plain, ents)


def _strip(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Telegram trims surrounding whitespace; shift and clip entities accordingly."""
    lead = utf16_len(text) - utf16_len(text.lstrip())
    stripped = text.strip()
    total = utf16_len(stripped)
    result: list[Entity] = []
    for e in entities:
        start = max(e["offset"] - lead, 0)
        end = min(e["offset"] + e["length"] - lead, total)
        if end > start:
            result.append({**e, "offset": start, "length": end - start})
    return stripped, result


def bot_command_entities(text: str) -> list[Entity]:
    """bot_command entities Telegram attaches to a user's message (any /command at a word start)."""
    ents: list[Entity] = []
    for m in re.finditer(r"(?<![^\s])/[a-zA-Z0-9_]{1,32}(?:@[a-zA-Z0-9_]{3,32})?", text):
        ents.append({"offset": utf16_len(text[: m.start()]), "length": utf16_len(m.group(0)), "type": "bot_command"})
    return ents
