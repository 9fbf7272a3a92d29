"""A read-only view of a YAML document that remembers where every value was written.

PyYAML's composer (not its constructor) is used: it gives the node graph with the position of every key and
value and leaves scalars as text, so ``on:`` stays the string GitHub reads (YAML 1.1 would make it ``True``)
and ``persist-credentials: false`` keeps the line a finding points at.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import yaml

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlError(ValueError):
    """The text is not YAML; ``line`` is where the parser stopped (1-based)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class Node:
    """One node of the document: a mapping, a sequence or a scalar, with its 1-based line."""

    raw: yaml.Node

    @property
    def line(self) -> int:
        """The line the node starts on."""
        return self.raw.start_mark.line + 1

    @property
    def is_mapping(self) -> bool:
        """True for a mapping."""
        return isinstance(self.raw, yaml.MappingNode)

    @property
    def is_sequence(self) -> bool:
        """True for a sequence."""
        return isinstance(self.raw, yaml.SequenceNode)

    @property
    def text(self) -> str | None:
        """A scalar's text as written (quotes removed); None for mappings and sequences."""
        return self.raw.value if isinstance(self.raw, yaml.ScalarNode) else None

    @property
    def is_block_scalar(self) -> bool:
        """True for ``|`` and ``>`` scalars, whose text starts on the line after the indicator."""
        return isinstance(self.raw, yaml.ScalarNode) and self.raw.style in ("|", ">")

    def entries(self) -> Iterator[tuple[str, Node, int]]:
        """A mapping's (key, value, key line); nothing for other nodes. Non-scalar keys are skipped."""
        if not isinstance(self.raw, yaml.MappingNode):
            return
        for key, value in self.raw.value:
            if isinstance(key, yaml.ScalarNode):
                yield key.value, Node(value), key.start_mark.line + 1

    def get(self, key: str) -> Node | None:
        """A mapping's value under ``key`` (the last one if written twice, as GitHub reads it)."""
        found = None
        for name, value, _line in self.entries():
            if name == key:
                found = value
        return found

    def key_line(self, key: str) -> int | None:
        """The line of ``key`` in a mapping."""
        found = None
        for name, _value, line in self.entries():
            if name == key:
                found = line
        return found

    def items(self) -> list[Node]:
        """A sequence's items; nothing for other nodes."""
        if not isinstance(self.raw, yaml.SequenceNode):
            return []
        return [Node(item) for item in self.raw.value]

    def scalars(self) -> Iterator[Node]:
        """Every scalar below this node (keys left out), in document order."""
        if isinstance(self.raw, yaml.ScalarNode):
            yield self
        elif isinstance(self.raw, yaml.SequenceNode):
            for item in self.raw.value:
                yield from Node(item).scalars()
        elif isinstance(self.raw, yaml.MappingNode):
            for _key, value in self.raw.value:
                yield from Node(value).scalars()

    def line_of(self, offset: int) -> int:
        """The line of character ``offset`` of a scalar's text (exact for block scalars and one-line
        values; a folded multi-line flow scalar reports its first line)."""
        text = self.text or ""
        if self.is_block_scalar:
            return self.line + 1 + text.count("\n", 0, offset)
        return self.line


def parse(text: str) -> Node | None:
    """The document's root node (None for an empty document); :class:`YamlError` if it is not YAML."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise YamlError(f"{exc.problem or exc.context or 'not YAML'}", line) from exc
    except yaml.YAMLError as exc:
        raise YamlError(str(exc), 1) from exc
    return Node(root) if root is not None else None


__all__ = ["Node", "YamlError", "parse"]
