"""What resolving a scope yields: its output columns, each with its source columns and the
kind of each edge, and the sources that decide which of its rows exist.

Kinds, strongest first: "direct" (a plain copy, possibly renamed), "transform" (feeds an
expression), "filter" (decides which rows exist: WHERE, JOIN, GROUP BY, HAVING, QUALIFY,
ORDER BY, DISTINCT ON, EXCEPT's right branch, subqueries in those clauses).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lineage.core.errors import LineageError

DIRECT, TRANSFORM, FILTER = "direct", "transform", "filter"
STRENGTH = {FILTER: 0, TRANSFORM: 1, DIRECT: 2}

Sources = dict[str, str]
"""Fully qualified source column -> kind."""


def merge(into: Sources, more: Mapping[str, str], cap: str = DIRECT) -> None:
    """Add `more` to `into`, weakening each kind to at most `cap` and keeping the stronger."""
    for source, kind in more.items():
        if STRENGTH[kind] > STRENGTH[cap]:
            kind = cap
        if source not in into or STRENGTH[kind] > STRENGTH[into[source]]:
            into[source] = kind


@dataclass
class ScopeColumns:
    """A scope's output columns in order, and the sources deciding which of its rows exist.

    A `*` over a table whose columns are unknown leaves the list open: `find` still answers
    for any name through `open_lookup`, but whoever needs every column in order (the final
    output, set operations, column aliases) gets `unexpanded` raised by `complete()`.
    """

    outputs: list[tuple[str, Sources]]
    row_filters: Sources = field(default_factory=dict)
    open_lookup: Callable[[str], Sources] | None = None
    unexpanded: LineageError | None = None

    def find(self, name: str) -> Sources | None:
        for output, sources in self.outputs:
            if output == name:
                return sources
        return self.open_lookup(name) if self.open_lookup is not None else None

    def complete(self) -> ScopeColumns:
        if self.unexpanded is not None:
            raise self.unexpanded
        return self
