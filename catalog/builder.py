"""The data catalog (数据目录): one entry per table of every layer, assembled from what already
describes it — the register (ODS), the reference data (ref), the model sidecars, column lineage
(descriptions flow along `direct` edges), the database (types, nullability, row counts), the batch
history (freshness), the quality results (score per GB/T 36344 dimension, failing checks, trend)
and the business glossary.

`build_catalog(con)` assembles it (without `con`: from the files alone, no figures);
`write_catalog(con, catalog)` stores it in the meta.catalog_* tables (one transaction) and
`read_catalog(con)` reads it back for search, `respool catalog show` and the static site.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from catalog.glossary import Term, load_glossary
from catalog.ods import batch_column
from catalog.reference_data import REF_DOCS
from catalog.register import Register, load_register
from lineage.core.scope_columns import DIRECT
from lineage.project.model_graph import ColumnDescription, ModelLineage
from lineage.project.resolve import lineage_sources, model_lineage
from models.loader import LAYER_ZH, Model, read_models
from quality.specs import DIMENSIONS

#: the layers in the order the catalog lists them
LAYERS = ("ods", "ref", "stg", "dim", "dwd", "dws", "ads", "quarantine")
#: the schemas of the published snapshot that analysts query through the data service
PUBLISHED_SCHEMAS = ("dim", "dwd", "dws", "ads", "ref")
COMPANY_COLUMN = "bukrs"
TREND_DAYS = 30
LAYER_ZH_ALL = {**LAYER_ZH, "ref": "参考数据"}
LAYER_EN = {"ods": "operational data store (as delivered)", "ref": "reference data", "stg": "cleansed",
            "dim": "dimensions", "dwd": "detail", "dws": "summary", "ads": "application",
            "quarantine": "quarantined rows"}


@dataclass
class CatalogColumn:
    name: str
    position: int
    type: str | None = None
    nullable: bool | None = None
    zh: str | None = None
    en: str | None = None
    sap_code: str | None = None
    origin: str | None = None  # model | register | inherited from <column> | batch column | reference
    sensitivity: str | None = None
    terms: list[str] = field(default_factory=list)

    @property
    def documented(self) -> bool:
        return bool(self.zh and self.en)

    @property
    def label(self) -> str | None:
        """中文描述（English，SAP code）: how the Dagster UI and the site describe the column."""
        if not self.documented:
            return None
        return f"{self.zh}（{self.en}，{self.sap_code}）" if self.sap_code else f"{self.zh}（{self.en}）"


@dataclass
class CatalogTable:
    table: str  # schema.name
    layer: str
    name_zh: str
    name_en: str
    domain: str
    owner: str
    description_zh: str
    description_en: str
    grain: str
    key: list[str]
    columns: list[CatalogColumn] = field(default_factory=list)
    row_count: int | None = None
    latest_biz_date: date | None = None
    refreshed_at: datetime | None = None  # UTC: when its data last changed (loaded or built)
    quality_date: date | None = None  # the business date the quality figures are of
    quality: dict[str, list[int]] = field(default_factory=dict)  # dimension -> [passed, total]
    failing: list[dict[str, str]] = field(default_factory=list)  # the latest failing checks
    trend: list[dict[str, Any]] = field(default_factory=list)  # [{biz_date, passed, total}] oldest first
    upstream: list[str] = field(default_factory=list)
    downstream: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    published: bool = False
    company_scoped: bool = False
    exists: bool = False  # in the database the catalog was built from
    sql: str | None = None
    path: str | None = None

    @property
    def name(self) -> str:
        return self.table.split(".", 1)[1]

    @property
    def quality_score(self) -> float | None:
        passed = sum(p for p, _ in self.quality.values())
        total = sum(t for _, t in self.quality.values())
        return passed / total if total else None

    @property
    def summary(self) -> str:
        """The table in a few lines: names, description, grain and key (the Dagster asset's description)."""
        return (f"{self.name_zh}（{self.name_en}）— {self.description_zh}\n\n{self.description_en}\n\n"
                f"粒度 grain: {self.grain}\n\n主键 key: {', '.join(self.key)}")

    def column(self, name: str) -> CatalogColumn | None:
        return next((c for c in self.columns if c.name.lower() == name.lower()), None)


@dataclass
class Catalog:
    tables: list[CatalogTable]
    glossary: list[Term]
    built_at: datetime
    source_db: str | None = None

    def table(self, name: str) -> CatalogTable | None:
        """By `schema.table` or, where unique, by the bare table name (any case)."""
        wanted = name.strip().lower()
        exact = [t for t in self.tables if t.table.lower() == wanted]
        if exact:
            return exact[0]
        bare = [t for t in self.tables if t.name.lower() == wanted]
        return bare[0] if len(bare) == 1 else None

    @property
    def undocumented(self) -> list[str]:
        """`schema.table.column` of every column without both Chinese and English description."""
        return [f"{t.table}.{c.name}" for t in self.tables for c in t.columns if not c.documented]

    def term(self, name: str) -> Term | None:
        return next((t for t in self.glossary if t.term == name), None)

    def to_json(self) -> dict:
        """Everything, JSON-ready (dates as ISO text): what the static site is made of."""
        def plain(value):
            if isinstance(value, date | datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            return value

        return {
            "built_at": self.built_at.isoformat(),
            "source_db": self.source_db,
            "tables": [plain({**asdict(t), "quality_score": t.quality_score}) for t in self.tables],
            "glossary": [t.model_dump() for t in self.glossary],
        }


# ---- building --------------------------------------------------------------------------------


def build_catalog(con: duckdb.DuckDBPyConnection | None = None, *, register: Register | None = None,
                  models: list[Model] | None = None, lineage: ModelLineage | None = None,
                  glossary: list[Term] | None = None, source_db: str | None = None) -> Catalog:
    register = register or load_register()
    if models is None or lineage is None:
        models, problems = read_models()
        lineage = model_lineage(models, register, lineage_sources(register), problems)
    glossary = glossary if glossary is not None else load_glossary()
    db = _DatabaseFacts.read(con) if con is not None else _DatabaseFacts()

    tables = [*_ods_entries(register), *_ref_entries(), *(_model_entry(m) for m in models)]
    tables += _quarantine_entries(db, {m.table: m for m in models})
    by_name = {t.table: t for t in tables}
    for entry in tables:
        _fill_columns(entry, db, lineage, register)
    _link_tables(tables, models)
    _link_terms(tables, glossary, register)
    for entry in tables:
        entry.exists = entry.table in db.columns
        entry.row_count = db.row_counts.get(entry.table)
        entry.published = entry.layer in PUBLISHED_SCHEMAS
        entry.company_scoped = entry.column(COMPANY_COLUMN) is not None
    _fill_freshness(tables, by_name, db, register)
    _fill_quality(tables, db)
    return Catalog(sorted(tables, key=lambda t: (LAYERS.index(t.layer), t.table)), glossary,
                   datetime.now(UTC).replace(tzinfo=None), source_db)


def _ods_entries(register: Register) -> list[CatalogTable]:
    out = []
    for t in register.tables:
        mode = "全量快照 full snapshot" if t.mode == "FULL" else "增量 incremental"
        common = dict(layer="ods", domain=t.domain, owner=t.owner, key=list(t.key))
        out.append(CatalogTable(
            table=f"ods.{t.ods_name}", name_zh=t.name_zh, name_en=t.name_en,
            description_zh=f"{t.purpose}（{t.system_name_zh}回流表 {t.system}.{t.code}，原样加载，{mode}）",
            description_en=f"{t.name_en}: {t.system} table {t.code} as delivered every night ({t.mode}), "
                           f"with the batch that loaded each row.",
            grain=f"每个交付行一行 one row per delivered {t.code} row (key {', '.join(t.key)})", **common))
        if t.departed_name:
            out.append(CatalogTable(
                table=f"ods.{t.departed_name}", name_zh=f"{t.name_zh}（离开快照的行）",
                name_en=f"{t.name_en}: rows that left the snapshot",
                description_zh=f"{t.code} 全量快照中曾经存在、后来的快照不再交付的行，保留最后一次交付的状态"
                               f"（如未清项离开 {t.code} 而清账未交付时不丢失）。",
                description_en=f"Rows of earlier {t.code} snapshots that a later snapshot no longer delivers, in "
                               f"their last delivered state, tagged with the batch that left them out.",
                grain=f"每个离开快照的键一行 one row per departed key ({', '.join(t.key)})", **common))
    return out


def _ref_entries() -> list[CatalogTable]:
    return [CatalogTable(table=name, layer="ref", name_zh=ref["name_zh"], name_en=ref["name_en"], domain="组织",
                         owner="数据治理组 data governance team", description_zh=ref["description_zh"],
                         description_en=ref["description_en"],
                         grain=f"每个{ref['name_zh']}一行 one row per {', '.join(ref['key'])}", key=list(ref["key"]))
            for name, ref in REF_DOCS.items()]


def _model_entry(model: Model) -> CatalogTable:
    meta = model.meta
    return CatalogTable(table=model.table, layer=model.layer, name_zh=meta.name_zh, name_en=_english_name(meta),
                        domain=meta.domain, owner=meta.owner, description_zh=meta.description_zh,
                        description_en=meta.description_en, grain=meta.grain, key=list(meta.key), sql=model.sql,
                        path=str(model.path))


def _english_name(meta) -> str:
    """The English description's first clause: "Accounts-receivable items"."""
    return meta.description_en.split(":")[0].split(".")[0].strip()


def _quarantine_entries(db: _DatabaseFacts, models: dict[str, Model]) -> list[CatalogTable]:
    out = []
    for table in sorted(t for t in db.columns if t.startswith("quarantine.")):
        model = next((m for m in models.values() if m.name == table.split(".", 1)[1]), None)
        if model is None:
            continue
        meta = model.meta
        out.append(CatalogTable(
            table=table, layer="quarantine", name_zh=f"{meta.name_zh}（隔离区）",
            name_en=f"{_english_name(meta)}: quarantined rows", domain=meta.domain, owner=meta.owner,
            description_zh=f"清洗模型 {model.table} 拒收的行及拒收原因（_reject_reason）；不进入资源池。",
            description_en=f"Rows that cleansing model {model.table} refused, with the reason (_reject_reason); "
                           f"they do not enter the pool.",
            grain=meta.grain, key=list(meta.key)))
    return out


def _fill_columns(entry: CatalogTable, db: _DatabaseFacts, lineage: ModelLineage, register: Register) -> None:
    described_as = entry.table
    if entry.layer == "quarantine":
        described_as = "stg." + entry.name
    if entry.table in db.columns:
        found = db.columns[entry.table]
    else:
        found = [(c, None, None) for c in (lineage.columns_of(entry.table) or ())]
    for position, (name, dtype, nullable) in enumerate(found, start=1):
        column = CatalogColumn(name=name, position=position, type=dtype, nullable=nullable)
        doc = lineage.description(f"{described_as}.{name}")
        if doc is None:
            doc = _system_column(name)
        if doc is not None:
            column.zh, column.en, column.sap_code, column.origin = doc.zh, doc.en, doc.code, doc.origin
        column.sap_code = column.sap_code or _copied_code(lineage, f"{described_as}.{name}")
        spec = register.fields.get(column.sap_code or "")
        column.sensitivity = spec.sensitivity if spec else None
        entry.columns.append(column)


def _copied_code(lineage: ModelLineage, column: str) -> str | None:
    """The SAP field a column copies through `direct` edges only, though its sidecar renames and
    re-describes it (dim_customer.credit_code is STCD5)."""
    seen = set()
    while column not in seen:
        seen.add(column)
        sources = lineage.sources_of(column)
        if len(sources) != 1 or sources[0].kind != DIRECT:
            return None
        column = sources[0].source
        doc = lineage.description(column)
        if doc is not None and doc.code:
            return doc.code
    return None


def _system_column(name: str) -> ColumnDescription | None:
    """The columns every departed / ODS table carries, documented once in catalog.ods."""
    spec = batch_column(name)
    return ColumnDescription(spec.zh, spec.en, None, "batch column") if spec else None


def _link_tables(tables: list[CatalogTable], models: list[Model]) -> None:
    known = {t.table for t in tables}
    upstream: dict[str, set[str]] = defaultdict(set)
    for model in models:
        upstream[model.table] |= {t for t in model.depends_on if t in known}
    for entry in tables:
        if entry.layer == "quarantine":
            upstream[entry.table].add("stg." + entry.name)
    downstream: dict[str, set[str]] = defaultdict(set)
    for table, sources in upstream.items():
        for source in sources:
            downstream[source].add(table)
    for entry in tables:
        entry.upstream = sorted(upstream.get(entry.table, ()))
        entry.downstream = sorted(downstream.get(entry.table, ()))


def _link_terms(tables: list[CatalogTable], glossary: list[Term], register: Register) -> None:
    named: dict[str, list[str]] = defaultdict(list)  # lower schema.table.column -> terms
    by_code: dict[str, list[str]] = defaultdict(list)  # SAP field code -> terms
    by_table: dict[str, list[str]] = defaultdict(list)  # lower table -> terms
    for term in glossary:
        for column in term.columns:
            named[column.lower()].append(term.term)
        for code in term.sap:
            if code.upper() in register.fields:
                by_code[code.upper()].append(term.term)
    codes = {t.code.upper(): t for t in register.tables}
    for term in glossary:
        for code in term.sap:
            if code.upper() in codes:
                by_table[f"ods.{codes[code.upper()].ods_name}"].append(term.term)
    for entry in tables:
        carried: list[str] = list(by_table.get(entry.table, []))
        for column in entry.columns:
            terms = [*named.get(f"{entry.table}.{column.name}".lower(), []), *by_code.get(column.sap_code or "", [])]
            column.terms = list(dict.fromkeys(terms))
            carried += column.terms
        entry.terms = list(dict.fromkeys(carried))


def _fill_freshness(tables: list[CatalogTable], by_name: dict[str, CatalogTable], db: _DatabaseFacts,
                    register: Register) -> None:
    ods_of = {f"ods.{t.ods_name}": t.code for t in register.tables}
    ods_of.update({f"ods.{t.departed_name}": t.code for t in register.tables if t.departed_name})
    for entry in tables:
        if entry.layer == "ods":
            entry.latest_biz_date, entry.refreshed_at = db.loaded.get(ods_of[entry.table], (None, None))
        elif entry.layer in ("ref",):
            entry.refreshed_at = db.built.get(entry.table)
    # a model is as fresh as the newest business date among the ODS tables it is built from
    for entry in tables:
        if entry.layer in ("ods", "ref"):
            continue
        dates = [by_name[t].latest_biz_date for t in _ancestors(entry.table, by_name) if t.startswith("ods.")]
        dates = [d for d in dates if d is not None]
        entry.latest_biz_date = max(dates) if dates else None
        entry.refreshed_at = db.built.get(entry.table if entry.layer != "quarantine" else "stg." + entry.name)


def _ancestors(table: str, by_name: dict[str, CatalogTable]) -> set[str]:
    seen: set[str] = set()
    stack = [table]
    while stack:
        for parent in by_name[stack.pop()].upstream:
            if parent not in seen and parent in by_name:
                seen.add(parent)
                stack.append(parent)
    return seen


def _fill_quality(tables: list[CatalogTable], db: _DatabaseFacts) -> None:
    for entry in tables:
        results = db.quality.get(entry.table, [])
        if results:
            entry.quality_date = db.quality_date
            scores = {d: [0, 0] for d in DIMENSIONS}
            for r in results:
                scores.setdefault(r["dimension"], [0, 0])
                scores[r["dimension"]][0] += bool(r["success"])
                scores[r["dimension"]][1] += 1
            entry.quality = {d: v for d, v in scores.items() if v[1]}
            failing = [r for r in results if not r["success"]]
            failing.sort(key=lambda r: (r["severity"] != "error", r["check"]))
            entry.failing = [{k: r[k] for k in ("check", "severity", "dimension", "description_zh",
                                                 "description_en")} for r in failing]
        entry.trend = db.trend.get(entry.table, [])


# ---- what the database says ------------------------------------------------------------------


@dataclass
class _DatabaseFacts:
    columns: dict[str, list[tuple[str, str, bool]]] = field(default_factory=dict)
    row_counts: dict[str, int] = field(default_factory=dict)
    loaded: dict[str, tuple[date, datetime]] = field(default_factory=dict)  # ODS table code -> newest
    built: dict[str, datetime] = field(default_factory=dict)
    quality_date: date | None = None
    quality: dict[str, list[dict]] = field(default_factory=dict)
    trend: dict[str, list[dict]] = field(default_factory=dict)

    @classmethod
    def read(cls, con: duckdb.DuckDBPyConnection) -> _DatabaseFacts:
        facts = cls()
        schemas = list(LAYERS)
        rows = con.execute(
            "SELECT c.table_schema, c.table_name, c.column_name, c.data_type, c.is_nullable = 'YES' "
            "FROM information_schema.columns c JOIN information_schema.tables t "
            "ON t.table_catalog = c.table_catalog AND t.table_schema = c.table_schema AND t.table_name = c.table_name "
            "WHERE c.table_catalog = current_database() AND t.table_type = 'BASE TABLE' "
            f"AND c.table_schema IN ({', '.join('?' for _ in schemas)}) "
            "ORDER BY c.table_schema, c.table_name, c.ordinal_position", schemas).fetchall()
        for schema, table, column, dtype, nullable in rows:
            facts.columns.setdefault(f"{schema}.{table}", []).append((column, dtype, nullable))
        if facts.columns:
            counts = " UNION ALL ".join(
                f"SELECT '{name}' AS t, count(*) AS n FROM {_quoted(name)}" for name in facts.columns)
            facts.row_counts = dict(con.execute(counts).fetchall())
        tables = {f"{s}.{t}" for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'meta'").fetchall()}
        if "meta.batch" in tables:
            facts.loaded = {code: (d, at) for code, d, at in con.execute(
                "SELECT table_name, max(biz_date), max(recorded_at) FROM meta.batch WHERE status = 'loaded' "
                "GROUP BY 1").fetchall()}
        if "meta.model_run" in tables:
            facts.built = dict(con.execute(
                "SELECT model, max(built_at) FROM meta.model_run WHERE status = 'built' GROUP BY 1").fetchall())
        if "meta.quality_result" in tables:
            facts._read_quality(con)
        return facts

    def _read_quality(self, con: duckdb.DuckDBPyConnection) -> None:
        from quality.trends import DAILY_RESULTS

        self.quality_date = con.execute(
            "SELECT max(checked_biz_date) FROM meta.quality_result").fetchone()[0]
        if self.quality_date is None:
            return
        cur = con.execute(
            f"WITH daily AS ({DAILY_RESULTS}) SELECT target_table, suite || '.' || expectation_id, severity, "
            f"dimension, success, description_zh, description_en FROM daily WHERE checked_biz_date = ?",
            [self.quality_date])
        for table, check, severity, dimension, success, zh, en in cur.fetchall():
            self.quality.setdefault(table, []).append(
                {"check": check, "severity": severity, "dimension": dimension, "success": success,
                 "description_zh": zh or "", "description_en": en or ""})
        cur = con.execute(
            f"WITH daily AS ({DAILY_RESULTS}), dates AS (SELECT DISTINCT checked_biz_date FROM daily "
            f"ORDER BY 1 DESC LIMIT {TREND_DAYS}) "
            f"SELECT target_table, checked_biz_date, count(*) FILTER (WHERE success), count(*) "
            f"FROM daily JOIN dates USING (checked_biz_date) GROUP BY ALL ORDER BY 1, 2")
        for table, day, passed, total in cur.fetchall():
            self.trend.setdefault(table, []).append({"biz_date": day, "passed": passed, "total": total})


def _quoted(table: str) -> str:
    schema, name = table.split(".", 1)
    return '"' + schema.replace('"', '""') + '"."' + name.replace('"', '""') + '"'


# ---- storing ---------------------------------------------------------------------------------

_TABLE_FIELDS = ("table_name", "layer", "name_zh", "name_en", "domain", "owner", "description_zh", "description_en",
                 "grain", "key", "row_count", "latest_biz_date", "refreshed_at", "quality_date", "quality",
                 "failing", "trend", "upstream", "downstream", "terms", "published", "company_scoped", "exists",
                 "sql", "path")
_JSON_FIELDS = {"key", "quality", "failing", "trend", "upstream", "downstream", "terms"}
_COLUMN_FIELDS = ("table_name", "position", "column_name", "type", "nullable", "zh", "en", "sap_code", "origin",
                  "sensitivity", "terms")


def write_catalog(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    """Replace the meta.catalog_* tables with `catalog`, in one transaction."""
    data = catalog.to_json()
    table_rows = []
    for t in data["tables"]:
        values = {**t, "table_name": t["table"], "exists": t["exists"]}
        table_rows.append([json.dumps(values[f], ensure_ascii=False) if f in _JSON_FIELDS else values[f]
                           for f in _TABLE_FIELDS])
    column_rows = [[t["table"], c["position"], c["name"], c["type"], c["nullable"], c["zh"], c["en"], c["sap_code"],
                    c["origin"], c["sensitivity"], json.dumps(c["terms"], ensure_ascii=False)]
                   for t in data["tables"] for c in t["columns"]]
    term_rows = [[i, g["term"], g["en"], g["domain"], g["definition"]["zh"], g["definition"]["en"],
                  json.dumps(g["synonyms"], ensure_ascii=False), json.dumps(g["sap"], ensure_ascii=False),
                  json.dumps(g["columns"], ensure_ascii=False)] for i, g in enumerate(data["glossary"], start=1)]
    con.begin()
    try:
        for name in ("catalog_table", "catalog_column", "catalog_term", "catalog_build"):
            con.execute(f"DELETE FROM meta.{name}")
        con.executemany(f"INSERT INTO meta.catalog_table VALUES ({', '.join('?' for _ in _TABLE_FIELDS)})",
                        table_rows)
        if column_rows:
            con.executemany(f"INSERT INTO meta.catalog_column VALUES ({', '.join('?' for _ in _COLUMN_FIELDS)})",
                            column_rows)
        con.executemany("INSERT INTO meta.catalog_term VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", term_rows)
        con.execute("INSERT INTO meta.catalog_build VALUES (?, ?)", [catalog.built_at, catalog.source_db])
        con.commit()
    except BaseException:
        con.rollback()
        raise


def catalog_stored(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'meta' "
        "AND table_name = 'catalog_build'").fetchone()[0] > 0 and \
        con.execute("SELECT count(*) FROM meta.catalog_build").fetchone()[0] > 0


def read_catalog(con: duckdb.DuckDBPyConnection) -> Catalog | None:
    """The catalog stored by the last `write_catalog`; None when none was stored."""
    from catalog.glossary import Definition

    if not catalog_stored(con):
        return None
    built_at, source_db = con.execute("SELECT built_at, source_db FROM meta.catalog_build").fetchone()
    columns: dict[str, list[CatalogColumn]] = defaultdict(list)
    for row in con.execute(f"SELECT {', '.join(_COLUMN_FIELDS)} FROM meta.catalog_column "
                           f"ORDER BY table_name, position").fetchall():
        values = dict(zip(_COLUMN_FIELDS, row, strict=True))
        table = values.pop("table_name")
        values["name"] = values.pop("column_name")
        values["terms"] = json.loads(values["terms"])
        columns[table].append(CatalogColumn(**values))
    tables = []
    for row in con.execute(f"SELECT {', '.join(_quoted_field(f) for f in _TABLE_FIELDS)} "
                           f"FROM meta.catalog_table").fetchall():
        values = dict(zip(_TABLE_FIELDS, row, strict=True))
        for name in _JSON_FIELDS:
            values[name] = json.loads(values[name])
        for point in values["trend"]:
            point["biz_date"] = date.fromisoformat(point["biz_date"])
        values["table"] = values.pop("table_name")
        tables.append(CatalogTable(**values, columns=columns.get(values["table"], [])))
    glossary = []
    for term, en, domain, zh_def, en_def, synonyms, sap, cols in con.execute(
            "SELECT term, en, domain, definition_zh, definition_en, synonyms, sap, columns "
            "FROM meta.catalog_term ORDER BY position").fetchall():
        glossary.append(Term(term=term, en=en, domain=domain, definition=Definition(zh=zh_def, en=en_def),
                             synonyms=json.loads(synonyms), sap=json.loads(sap), columns=json.loads(cols)))
    tables.sort(key=lambda t: (LAYERS.index(t.layer), t.table))
    return Catalog(tables, glossary, built_at, source_db)


def _quoted_field(name: str) -> str:
    return f'"{name}"'
