"""Reading a YAML file so that a problem in it can be named by file, line and field.

`read_yaml(path)` returns the data and a `Lines` index: `lines.of("tables", 3, "mode")` is the
1-based line of that value (or of the deepest part of the path that exists: a missing field is
reported at its entry). The register, the reference data, the quality suites and the glossary
report their problems with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml


class YamlSyntaxError(ValueError):
    """Not YAML at all: names the file and the line."""


class Lines:
    def __init__(self, root: yaml.Node | None) -> None:
        self._root = root

    def of(self, *loc: Any) -> int | None:
        node = self._root
        line = node.start_mark.line + 1 if node is not None else None
        for part in loc:
            node = _child(node, part)
            if node is None:
                break
            line = node.start_mark.line + 1
        return line

    def where(self, path: Path | str, loc: Sequence[Any] = ()) -> str:
        """`file:line` (the file alone when the line is unknown)."""
        line = self.of(*loc)
        return f"{path}:{line}" if line else str(path)


def _child(node: yaml.Node | None, part: Any) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if str(key.value) == str(part):
                return value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part]
    return None


def parse_yaml(text: str, source: Path | str) -> tuple[Any, Lines]:
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else str(source)
        problem = getattr(exc, "problem", None) or str(exc)
        raise YamlSyntaxError(f"{where}: not valid YAML: {problem}") from None
    return data, Lines(root)


def read_yaml(path: Path) -> tuple[Any, Lines]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlSyntaxError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return parse_yaml(text, path)
