"""Load and validate the return-table register (回流表清单) and the province's reference data.

The register is data (`register.yaml`); this module turns it into typed objects and refuses a
malformed register with the entry and the field named.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from catalog.yaml_lines import Lines, YamlSyntaxError, read_yaml

HERE = Path(__file__).parent
REGISTER_PATH = HERE / "register.yaml"
REFERENCE_PATH = HERE / "reference.yaml"

SapType = Literal["CLNT", "CHAR", "NUMC", "DATS", "TIMS", "CURR", "DEC", "LANG", "CUKY"]
LoadMode = Literal["FULL", "INCR"]
Encoding = Literal["UTF-8", "GBK"]


class RegisterError(ValueError):
    """The register or the reference data is malformed; the message names entry and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldSpec(_Strict):
    """A data element (SAP 数据元素): what a field code means wherever it appears."""

    type: SapType
    length: int = Field(gt=0)
    decimals: int = Field(default=0, ge=0)
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
    # 敏感级别 of what the field identifies (a partner's name, tax number, a consumer): the catalog
    # tags every column carrying it, through lineage
    sensitivity: str | None = None


class Column(_Strict):
    """A column of a returned table, in delivery order."""

    name: str
    type: SapType
    length: int
    decimals: int
    zh: str
    en: str
    required: bool
    in_key: bool
    sensitivity: str | None = None

    @property
    def sap_type(self) -> str:
        """`CHAR(10)`, `CURR(13,2)`: the type as SAP's dictionary writes it."""
        if self.decimals:
            return f"{self.type}({self.length},{self.decimals})"
        return f"{self.type}({self.length})"

    @property
    def label(self) -> str:
        """中文名 (English, CODE): how a user-facing text names the column."""
        return f"{self.zh} ({self.en}, {self.name})"


class SystemSpec(_Strict):
    name_zh: str
    name_en: str
    level: str
    encoding: Encoding


class TableEntry(_Strict):
    """One row of the register as written in YAML."""

    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    system: str
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    domain: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    purpose: str = Field(min_length=1)
    mode: LoadMode
    key: list[str] = Field(min_length=1)
    columns: list[str] = Field(min_length=1)
    required: list[str] = Field(default_factory=list)
    key_may_be_blank: list[str] = Field(default_factory=list)
    compress: bool = False

    @model_validator(mode="after")
    def _key_and_required_are_columns(self) -> TableEntry:
        if len(set(self.columns)) != len(self.columns):
            dup = sorted({c for c in self.columns if self.columns.count(c) > 1})
            raise ValueError(f"columns: repeated {dup}")
        for attr in ("key", "required", "key_may_be_blank"):
            missing = [c for c in getattr(self, attr) if c not in self.columns]
            if missing:
                raise ValueError(f"{attr}: {missing} not among the table's columns")
        outside = [c for c in self.key_may_be_blank if c not in self.key]
        if outside:
            raise ValueError(f"key_may_be_blank: {outside} are not key columns")
        return self


class Table(_Strict):
    """A returned table with its columns resolved against the field glossary."""

    code: str
    system: str
    system_name_zh: str
    name_zh: str
    name_en: str
    domain: str
    owner: str
    purpose: str
    mode: LoadMode
    encoding: Encoding
    compress: bool
    key: tuple[str, ...]
    columns: tuple[Column, ...]

    @property
    def ods_name(self) -> str:
        """Table name inside schema `ods` (`bseg`, `a_rcvbl_flow`)."""
        return self.code.lower()

    @property
    def departed_name(self) -> str | None:
        """FULL tables only: inside schema `ods`, the last delivered row of each key that left the
        snapshot (`bsid_departed`), so an item whose clearing is late is not lost."""
        return f"{self.ods_name}_departed" if self.mode == "FULL" else None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def label(self) -> str:
        return f"{self.name_zh} ({self.name_en}, {self.system}.{self.code})"

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.code} has no column {name}")


class Register(_Strict):
    version: int
    systems: dict[str, SystemSpec]
    fields: dict[str, FieldSpec]
    tables: tuple[Table, ...]

    @cached_property
    def _by_code(self) -> dict[str, Table]:
        return {t.code: t for t in self.tables}

    def table(self, code: str) -> Table:
        try:
            return self._by_code[code.upper()]
        except KeyError:
            raise KeyError(f"table {code!r} is not in the register (回流表清单)") from None

    def find(self, system: str, code: str) -> Table | None:
        table = self._by_code.get(code)
        return table if table is not None and table.system == system else None


class Organisation(_Strict):
    code: str
    name_zh: str
    name_en: str
    company_codes: list[str] = Field(min_length=1)


class Company(_Strict):
    name_zh: str
    city: str


class SupplyUnit(_Strict):
    bukrs: str
    name_zh: str


class NotedItemIndicator(_Strict):
    name_zh: str
    name_en: str


# SAP's standard indicator for down payment requests, the noted items of customers and vendors
DEFAULT_NOTED_ITEMS = {"F": NotedItemIndicator(name_zh="预付款请求（备查项）", name_en="Down payment request")}


class Reference(_Strict):
    """The province's own reference data: organisations, company codes, supply units, and the
    special G/L indicators of noted items (备查项: statistical, they never update a balance)."""

    organisations: list[Organisation]
    companies: dict[str, Company]
    supply_units: dict[str, SupplyUnit]
    noted_item_indicators: dict[str, NotedItemIndicator] = Field(default_factory=lambda: dict(DEFAULT_NOTED_ITEMS))

    @model_validator(mode="after")
    def _every_code_in_one_organisation(self) -> Reference:
        seen: dict[str, str] = {}
        for org in self.organisations:
            for bukrs in org.company_codes:
                if bukrs not in self.companies:
                    raise ValueError(f"organisation {org.code}: company code {bukrs} is not in companies")
                if bukrs in seen:
                    raise ValueError(f"company code {bukrs} is in organisations {seen[bukrs]} and {org.code}")
                seen[bukrs] = org.code
        orphans = sorted(set(self.companies) - set(seen))
        if orphans:
            raise ValueError(f"company codes {orphans} belong to no organisation")
        for unit, spec in self.supply_units.items():
            if spec.bukrs not in self.companies:
                raise ValueError(f"supply unit {unit}: company code {spec.bukrs} is not in companies")
        for indicator in self.noted_item_indicators:
            if len(indicator) != 1:
                raise ValueError(f"noted item indicator {indicator!r} is not a one-character UMSKZ")
        return self

    def organisation_of(self, bukrs: str) -> Organisation:
        for org in self.organisations:
            if bukrs in org.company_codes:
                return org
        raise KeyError(f"company code {bukrs} belongs to no organisation")


def _describe(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(entry)"
        parts.append(f"field '{where}': {e['msg']}")
    return "; ".join(parts)


def _first_loc(err: ValidationError) -> tuple:
    return tuple(err.errors()[0]["loc"]) if err.errors() else ()


def _read_yaml(path: Path) -> tuple[dict, Lines]:
    try:
        data, lines = read_yaml(path)
    except YamlSyntaxError as exc:
        raise RegisterError(str(exc)) from None
    if not isinstance(data, dict):
        raise RegisterError(f"{path.name}: expected a mapping at the top level")
    return data, lines


def parse_register(data: dict, source: str = "register.yaml", lines: Lines | None = None) -> Register:
    """Validate register data; a problem raises RegisterError naming the file (and line, when
    `lines` of the file are given), the entry and the field."""
    lines = lines or Lines(None)

    def at(*loc) -> str:
        return lines.where(source, loc)

    for section in ("version", "systems", "fields", "tables"):
        if section not in data:
            raise RegisterError(f"{source}: section '{section}' is missing")
    systems: dict[str, SystemSpec] = {}
    for code, raw in (data["systems"] or {}).items():
        try:
            systems[code] = SystemSpec.model_validate(raw)
        except ValidationError as exc:
            raise RegisterError(f"{at('systems', code, *_first_loc(exc))}: system {code}: {_describe(exc)}") from None
    fields: dict[str, FieldSpec] = {}
    for code, raw in (data["fields"] or {}).items():
        try:
            fields[code] = FieldSpec.model_validate(raw)
        except ValidationError as exc:
            raise RegisterError(f"{at('fields', code, *_first_loc(exc))}: field {code}: {_describe(exc)}") from None

    tables: list[Table] = []
    for i, raw in enumerate(data["tables"] or []):
        name = raw.get("code", f"#{i + 1}") if isinstance(raw, dict) else f"#{i + 1}"
        try:
            entry = TableEntry.model_validate(raw)
        except ValidationError as exc:
            raise RegisterError(f"{at('tables', i, *_first_loc(exc))}: table {name}: {_describe(exc)}") from None
        if entry.system not in systems:
            raise RegisterError(f"{at('tables', i, 'system')}: table {name}: field 'system': "
                                f"unknown system {entry.system!r}")
        unknown = [c for c in entry.columns if c not in fields]
        if unknown:
            raise RegisterError(
                f"{at('tables', i, 'columns')}: table {name}: field 'columns': {unknown} not defined under 'fields'"
            )
        if any(t.code == entry.code for t in tables):
            raise RegisterError(f"{at('tables', i, 'code')}: table {name}: field 'code': listed twice")
        required = set(entry.required) | (set(entry.key) - set(entry.key_may_be_blank))
        columns = tuple(
            Column(
                name=c,
                **fields[c].model_dump(),
                required=c in required,
                in_key=c in entry.key,
            )
            for c in entry.columns
        )
        tables.append(
            Table(
                code=entry.code,
                system=entry.system,
                system_name_zh=systems[entry.system].name_zh,
                name_zh=entry.name_zh,
                name_en=entry.name_en,
                domain=entry.domain,
                owner=entry.owner,
                purpose=entry.purpose,
                mode=entry.mode,
                encoding=systems[entry.system].encoding,
                compress=entry.compress,
                key=tuple(entry.key),
                columns=columns,
            )
        )
    if not tables:
        raise RegisterError(f"{source}: no tables")
    return Register(version=data["version"], systems=systems, fields=fields, tables=tuple(tables))


def load_register(path: Path = REGISTER_PATH) -> Register:
    data, lines = _read_yaml(path)
    return parse_register(data, source=path.name, lines=lines)


def parse_reference(data: dict, source: str = "reference.yaml", lines: Lines | None = None) -> Reference:
    try:
        return Reference.model_validate(data)
    except ValidationError as exc:
        where = (lines or Lines(None)).where(source, _first_loc(exc))
        raise RegisterError(f"{where}: {_describe(exc)}") from None


def load_reference(path: Path = REFERENCE_PATH) -> Reference:
    data, lines = _read_yaml(path)
    return parse_reference(data, source=path.name, lines=lines)
