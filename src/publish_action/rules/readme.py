"""The one README renderer: whether a long description renders as the index renders it.

PyPI renders a description with ``readme_renderer`` by its declared content type (reStructuredText when none
is declared) and refuses one that gives no HTML. Both rule sets ask here: the generic set (``twine check``'s
verdict in its words) and PyPI's (Warehouse's, in its words).
"""

from __future__ import annotations

import io
import re

from publish_action.redact import outside_text

#: How docutils reports a problem (``<string>:4: (ERROR/3) Unknown directive type``), and how twine's
#: check passes it on (``line 4: Error: Unknown directive type``).
_RST_MESSAGE = re.compile(r"^<string>:(?P<line>\d+): \((\w+)/\d\) (?P<text>.*)$")
_TWINE_MESSAGE = re.compile(r"^line (?P<line>\d+): (?:\w+: )?(?P<text>.*)$")


def content_type(declared: str | None) -> str:
    """The content type a declared ``Description-Content-Type`` names, without parameters; rst when none."""
    if not declared:
        return "text/x-rst"
    from email.message import EmailMessage

    message = EmailMessage()
    message["content-type"] = declared
    return message.get_content_type()


def rendering_error(text: str, declared: str | None) -> str | None:
    """Why the index's renderer gives no HTML for ``text`` (``line N: what`` where docutils says), or
    ``None`` when it renders. Plain text always renders; CommonMark renders every text with content."""
    kind = content_type(declared)
    if kind == "text/x-rst":
        import readme_renderer.rst

        stream = io.StringIO()
        if readme_renderer.rst.render(text, stream=stream) is not None:
            return None
        return first_render_error(stream.getvalue()) or "no HTML came out of it"
    if kind == "text/markdown" and not text.strip():
        return "it has no content"
    return None


def first_render_error(messages: str) -> str | None:
    """The first error docutils reported, as ``line N: what``, from a renderer's warning text.

    A message may go on over the next lines (``Error in "image" directive:`` then the reason); it ends at
    the first blank line, after which docutils quotes the offending source, which is never shown.
    """
    lines = messages.strip().splitlines()
    for index, line in enumerate(lines):
        match = _RST_MESSAGE.match(line.strip()) or _TWINE_MESSAGE.match(line.strip())
        if match:
            text = [match.group("text")]
            for more in lines[index + 1 :]:
                if not more.strip() or _RST_MESSAGE.match(more.strip()):
                    break
                text.append(more.strip())
            return f"line {match.group('line')}: {outside_text(_sentence(' '.join(text)), 200)}"
    return outside_text(_sentence(lines[0]), 200) if lines else None


def _sentence(text: str) -> str:
    return text.strip().rstrip(".")


__all__ = ["content_type", "first_render_error", "rendering_error"]
