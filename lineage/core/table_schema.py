"""The caller's table schema, normalised once and looked up by the tables a statement names.

Accepted forms (they may be mixed in one mapping):
    {"table": ["col", ...]}                  column list
    {"table": {"col": "type", ...}}          column -> type (types are ignored)
    {"db.table": [...]}                      dotted key
    {"db": {"table": {...}}}                 nested, also catalog -> db -> table
A dict whose values are all dicts or lists is a namespace; any other dict is a table's columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

TableKey = tuple[str, ...]


class TableSchema:
    """Columns of known tables, looked up by normalised (catalog, db, table) parts.

    Keys and columns are normalised only for the tables a statement names, so a schema that
    grows with every resolved model costs nothing per statement beyond a cheap index.
    """

    def __init__(self, schema: Mapping[str, object] | None, dialect: Dialect) -> None:
        self._dialect = dialect
        self._raw: dict[TableKey, object] = {}
        self._by_name: dict[str, list[TableKey]] = {}  # lower-cased table name -> raw keys
        self._keys: dict[TableKey, TableKey] = {}  # raw key -> normalised key
        self._columns: dict[TableKey, list[str]] = {}
        if schema:
            self._collect((), schema)

    def __bool__(self) -> bool:
        return bool(self._raw)

    def _normalise(self, name: str) -> str:
        return self._dialect.normalize_identifier(exp.to_identifier(name)).name

    def _collect(self, prefix: TableKey, mapping: Mapping[str, object]) -> None:
        for key, value in mapping.items():
            parts = prefix + _split(str(key))
            if (
                isinstance(value, Mapping)
                and value
                and all(isinstance(v, (Mapping, list, tuple)) for v in value.values())
            ):
                self._collect(parts, value)
            else:
                self._raw[parts] = value
                self._by_name.setdefault(parts[-1].lower(), []).append(parts)

    def _normalised(self, raw: TableKey) -> TableKey:
        if raw not in self._keys:
            self._keys[raw] = tuple(self._normalise(p) for p in raw)
        return self._keys[raw]

    def _key_for(self, parts: TableKey) -> TableKey | None:
        # A less (or more) qualified name matches when exactly one known table fits it.
        exact, fits = [], []
        for raw in self._by_name.get(parts[-1].lower(), []):
            key = self._normalised(raw)
            if key == parts:
                exact.append(raw)
            elif key[-len(parts) :] == parts or parts[-len(key) :] == key:
                fits.append(raw)
        if exact:
            return exact[0]
        return fits[0] if len(fits) == 1 else None

    def columns(self, table: exp.Table) -> list[str] | None:
        """The table's columns in order, or None when the schema does not know the table."""
        raw = self._key_for(tuple(p.name for p in table.parts))
        if raw is None:
            return None
        if raw not in self._columns:
            value = self._raw[raw]
            names: Sequence[object] = list(value) if isinstance(value, (Mapping, list, tuple)) else []
            self._columns[raw] = [self._normalise(str(n)) for n in names]
        return self._columns[raw]


def _split(key: str) -> TableKey:
    """Name parts of a schema key: "db.table" -> ("db", "table"); quoted parts are parsed."""
    if '"' in key or "`" in key:
        return tuple(p.name for p in exp.to_table(key).parts)
    return tuple(key.split("."))
