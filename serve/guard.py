"""查询守卫 The query guard of the analysts' data service.

An analyst's SQL is accepted only if it is exactly one read-only query over the published tables
the caller may see; it is then rewritten so that it can read nothing but its own company codes:

* every reference to a table whose columns include ``bukrs`` — and every call of one of the pool's
  table macros (``ar_aging`` …) — becomes ``(SELECT * FROM <it> WHERE bukrs IN (<codes>)) AS <alias>``
  wherever it stands (CTEs, subqueries, joins, LATERAL, set operations …), so the rest of the query
  is unchanged; shared reference tables (customers, vendors, accounts) are left as they are;
* CTE definitions get guard-owned names (their references keep the analyst's name as alias), so a
  reference the guard took for a CTE can never silently reach a real table or a system view;
* the outer query gets ``LIMIT max_rows + 1`` so the caller can tell a truncated answer.

Everything else is refused with a :class:`QueryRefused` whose ``code`` is stable (see ``REASONS``)
and whose message says in Chinese and English what was refused and why. The guard is pure: no
database access and no state; it is built on sqlglot's DuckDB parser and scope analysis. It is the
first wall; the serving connection (read-only, external access disabled) is the second.

    guarded = guard(sql, schema={"dwd.dwd_ar_item": [...], ...}, company_codes=frozenset({"3301"}))
    con.execute(guarded.sql)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import OptimizeError, ParseError, SqlglotError, TokenError
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.tokens import Token, TokenType

DIALECT = "duckdb"
# the published snapshot's catalog is its file stem: respool.dwd.x and dwd.x are the same table
DEFAULT_CATALOG = "respool"
COMPANY_COLUMN = "bukrs"
DEFAULT_MAX_ROWS = 100_000

# The pool's own table macros (models/table_macros/aging.sql) and their argument counts. They read
# the dwd item tables and return a bukrs column, so a call is filtered like a table.
TABLE_MACROS: Mapping[str, int] = {
    "ar_aging": 2,
    "ap_aging": 2,
    "ar_special_gl": 1,
    "ap_special_gl": 1,
    "ar_noted_items": 1,
    "ap_noted_items": 1,
}
# schemas a table macro may be named with (it lives in the snapshot's main schema)
_MACRO_SCHEMAS = {"", "main"}

# Scalar functions that reach outside the query (files, settings, environment, catalog, sequences,
# other databases). Table functions are refused wholesale; this is defence in depth for the rest.
DENIED_FUNCTIONS = frozenset({
    "getenv", "current_setting", "getvariable", "glob", "query", "query_table", "sniff_csv",
    "nextval", "currval", "setseed", "checkpoint", "force_checkpoint", "which_secret",
    "json_execute_serialized_sql", "load_aws_credentials",
})
DENIED_PREFIXES = ("read_", "duckdb_", "pragma_", "parquet_", "sqlite_", "postgres_", "mysql_",
                   "iceberg_", "delta_", "ducklake_", "arrow_", "pandas_", "python_", "http_", "s3_")
DENIED_SUFFIXES = ("_scan",)

# prefix of the guard-owned CTE names
_CTE_PREFIX = "__guard_cte"

# stable reason codes -> (中文, English); the message is "<中文>：<subject> | <English>: <subject>"
REASONS: Mapping[str, tuple[str, str]] = {
    "empty": ("查询为空", "the query is empty"),
    "syntax": ("SQL 无法解析", "the SQL cannot be parsed"),
    "multiple_statements": ("一次只能提交一条查询语句", "only one statement may be submitted at a time"),
    "ddl": ("不允许定义或修改数据库对象（DDL）", "DDL (creating or changing database objects) is not allowed"),
    "dml": ("不允许修改数据（DML）", "DML (changing data) is not allowed"),
    "copy": ("不允许用 COPY 导入导出文件", "COPY to or from files is not allowed"),
    "export_import": ("不允许导出或导入数据库", "EXPORT / IMPORT DATABASE is not allowed"),
    "attach": ("不允许挂载或卸载其他数据库", "ATTACH / DETACH of databases is not allowed"),
    "extension": ("不允许安装或加载扩展", "installing or loading extensions is not allowed"),
    "pragma": ("不允许 PRAGMA", "PRAGMA is not allowed"),
    "set": ("不允许修改设置或变量", "changing settings or variables (SET / RESET) is not allowed"),
    "call": ("不允许 CALL", "CALL is not allowed"),
    "checkpoint": ("不允许 CHECKPOINT", "CHECKPOINT is not allowed"),
    "use": ("不允许切换数据库或模式（USE）", "switching database or schema (USE) is not allowed"),
    "describe": ("不支持 DESCRIBE / SHOW / SUMMARIZE / EXPLAIN，表和字段请查阅数据目录",
                 "DESCRIBE / SHOW / SUMMARIZE / EXPLAIN are not supported: the data catalogue lists "
                 "tables and columns"),
    "transaction": ("不允许事务控制语句", "transaction statements are not allowed"),
    "statement": ("只接受一条只读查询（SELECT / WITH / VALUES / FROM …）",
                  "only a read-only query (SELECT / WITH / VALUES / FROM …) is accepted"),
    "select_into": ("SELECT … INTO 会建表，不允许", "SELECT … INTO creates a table and is not allowed"),
    "unknown_table": ("表不存在或无权访问（请写“模式.表名”，如 dwd.dwd_ar_item）",
                      "unknown or not allowed table (write schema.table, e.g. dwd.dwd_ar_item)"),
    "table_function": ("不允许表函数（账龄等表宏除外）",
                       "table functions are not allowed (except the pool's table macros such as ar_aging)"),
    "macro_argument": ("表宏的参数必须是常量且个数正确",
                       "table macro arguments must be literals, in the right number"),
    "function": ("不允许访问查询之外资源的函数", "functions that reach outside the query are not allowed"),
    "unsupported": ("无法限定数据范围的写法", "a construct the guard cannot confine to your companies"),
}


class QueryRefused(ValueError):
    """The query was refused: ``code`` is one of ``REASONS``, ``subject`` names what was refused."""

    def __init__(self, code: str, subject: str, detail: str = "") -> None:
        zh, en = REASONS[code]
        self.code = code
        self.subject = subject
        self.detail = detail
        extra = f" — {detail}" if detail else ""
        super().__init__(f"查询被拒绝：{zh}：{subject}{extra} | Query refused: {en}: {subject}{extra}")


@dataclass(frozen=True)
class GuardedQuery:
    sql: str                 # the SQL to run, after rewriting (DuckDB dialect)
    tables: tuple[str, ...]  # "schema.table" and "macro_name()" it reads, sorted
    truncated_at: int        # the row cap: more rows than this back means the answer was cut


# --- statement kinds ------------------------------------------------------------------------------

# first keyword of a statement -> reason code, decided before parsing (sqlglot falls back to a
# generic Command, or fails, on several of these)
_KEYWORD_CODES: Mapping[str, str] = {
    **dict.fromkeys(("INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "UPSERT"), "dml"),
    **dict.fromkeys(("CREATE", "DROP", "ALTER", "COMMENT"), "ddl"),
    "COPY": "copy",
    **dict.fromkeys(("EXPORT", "IMPORT"), "export_import"),
    **dict.fromkeys(("ATTACH", "DETACH"), "attach"),
    **dict.fromkeys(("INSTALL", "LOAD"), "extension"),
    "PRAGMA": "pragma",
    **dict.fromkeys(("SET", "RESET"), "set"),
    "CALL": "call",
    "CHECKPOINT": "checkpoint",
    "USE": "use",
    **dict.fromkeys(("DESCRIBE", "DESC", "SHOW", "SUMMARIZE", "EXPLAIN"), "describe"),
    **dict.fromkeys(("BEGIN", "START", "COMMIT", "ROLLBACK", "ABORT", "END"), "transaction"),
    **dict.fromkeys(("PREPARE", "EXECUTE", "DEALLOCATE", "VACUUM", "ANALYZE", "GRANT", "REVOKE",
                     "PIVOT", "UNPIVOT", "PIVOT_WIDER", "UNPIVOT_LONGER", "KILL"), "statement"),
}

# statement nodes refused wherever they appear (a CTE may hold DML in sqlglot's tree)
_NODE_CODES: tuple[tuple[type[exp.Expr], str], ...] = (
    (exp.Copy, "copy"),
    (exp.Export, "export_import"),
    (exp.TruncateTable, "dml"),
    (exp.DML, "dml"),
    (exp.Attach, "attach"),
    (exp.Detach, "attach"),
    (exp.Install, "extension"),
    (exp.Pragma, "pragma"),
    (exp.Set, "set"),
    (exp.Use, "use"),
    (exp.Describe, "describe"),
    (exp.Show, "describe"),
    (exp.Summarize, "describe"),
    (exp.Transaction, "transaction"),
    (exp.Commit, "transaction"),
    (exp.Rollback, "transaction"),
    (exp.DDL, "ddl"),
    (exp.Drop, "ddl"),
    (exp.Alter, "ddl"),
    (exp.Comment, "ddl"),
    (exp.Analyze, "statement"),
    (exp.Grant, "statement"),
    (exp.Revoke, "statement"),
    (exp.Command, "statement"),
)
_STATEMENT_NODES = tuple(t for t, _ in _NODE_CODES)

# what may stand in FROM / JOIN
_RELATIONS = (exp.Table, exp.Subquery, exp.Unnest, exp.Values, exp.Lateral)
# table arguments the rewrite carries over to the wrapping subquery; any other is refused
_TABLE_ARGS_KEPT = ("alias", "joins", "laterals", "pivots", "sample")
# literal-only nodes allowed in a table macro's arguments
_LITERAL_NODES = (exp.Literal, exp.Null, exp.Boolean, exp.Neg, exp.Paren, exp.Cast, exp.TryCast,
                  exp.DataType, exp.DataTypeParam, exp.Interval, exp.Var, exp.Identifier, exp.RawString)


def _refuse_statement_node(node: exp.Expr) -> None:
    for node_type, code in _NODE_CODES:
        if isinstance(node, node_type):
            if isinstance(node, exp.Command):  # sqlglot's fallback: its keyword says what it is
                keyword = node.name.upper()
                code = _KEYWORD_CODES.get(keyword, code)
            else:
                keyword = node.key.upper()
            raise QueryRefused(code, keyword)


# --- parsing --------------------------------------------------------------------------------------

def _statements(sql: str, dialect: Dialect) -> list[list[Token]]:
    try:
        tokens = dialect.tokenize(sql)
    except TokenError as exc:
        raise QueryRefused("syntax", "词法错误 tokenizer", _first_line(str(exc))) from None
    statements: list[list[Token]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            statements.append([])
        else:
            statements[-1].append(token)
    return [s for s in statements if s]


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _refuse_by_keyword(tokens: list[Token]) -> None:
    if tokens[0].token_type in (TokenType.STRING, TokenType.IDENTIFIER):
        return  # a quoted name, not a keyword
    first = tokens[0].text.upper()
    second = tokens[1].text.upper() if len(tokens) > 1 else ""
    if first == "FORCE":  # FORCE INSTALL / FORCE CHECKPOINT
        first = second
    code = "extension" if (first, second) == ("UPDATE", "EXTENSIONS") else _KEYWORD_CODES.get(first)
    if code is not None:
        hint = "写成 SELECT * FROM (PIVOT …) / write SELECT * FROM (PIVOT …)" if "PIVOT" in first else ""
        raise QueryRefused(code, first, hint)


def _parse(sql: str, tokens: list[Token], dialect: Dialect) -> exp.Expr:
    try:
        parsed = [e for e in dialect.parser().parse(tokens, sql) if e is not None]
    except ParseError as exc:
        error = exc.errors[0] if exc.errors else {}
        line, col = error.get("line"), error.get("col")
        where = f"第 {line} 行第 {col} 列 line {line}, column {col}" if line else "?"
        description = re.sub(r"<class '[\w.]*?(\w+)'>", r"\1", error.get("description") or _first_line(str(exc)))
        near = error.get("highlight")
        raise QueryRefused("syntax", where, f"{description}" + (f" near {near!r}" if near else "")) from None
    except SqlglotError as exc:
        raise QueryRefused("syntax", "?", _first_line(str(exc))) from None
    if len(parsed) != 1:
        raise QueryRefused("multiple_statements", f"{len(parsed)} 条语句 statements")
    return parsed[0]


# --- checks ---------------------------------------------------------------------------------------

def _function_names(node: exp.Func) -> set[str]:
    if isinstance(node, exp.Anonymous):
        return {node.name.lower()}
    return {node.key.lower(), *(n.lower() for n in type(node).sql_names())}


def _denied(names: Iterable[str]) -> str | None:
    for name in names:
        if (name in DENIED_FUNCTIONS or name.startswith(DENIED_PREFIXES)
                or name.endswith(DENIED_SUFFIXES)):
            return name
    return None


def _check_tree(root: exp.Expr) -> list[exp.Table]:
    """Refuse statements, SELECT INTO, denied functions and odd relations; return every table node."""
    tables: list[exp.Table] = []
    for node in root.walk():
        if isinstance(node, exp.Table):
            tables.append(node)
        elif isinstance(node, _STATEMENT_NODES):
            _refuse_statement_node(node)
        elif isinstance(node, exp.Select) and node.args.get("into"):
            raise QueryRefused("select_into", "SELECT … INTO")
        elif isinstance(node, exp.Func) and not isinstance(node.parent, exp.Table):
            denied = _denied(_function_names(node))
            if denied is not None:
                raise QueryRefused("function", f"{denied}()")
        if isinstance(node, exp.Lateral):
            inner = node.this
            if not isinstance(inner, (exp.Query, exp.Subquery, exp.Unnest, exp.GenerateSeries)):
                raise QueryRefused("table_function", f"LATERAL {_name_of(inner)}")
        elif isinstance(node, (exp.From, exp.Join)) and not isinstance(node.this, _RELATIONS):
            raise QueryRefused("unsupported", f"FROM {type(node.this).__name__}")
    return tables


def _name_of(node: exp.Expr | None) -> str:
    if isinstance(node, exp.Func):
        return f"{sorted(_function_names(node))[0] if not isinstance(node, exp.Anonymous) else node.name}()"
    return node.sql(DIALECT) if node is not None else "?"


def _normalize_identifiers(root: exp.Expr) -> None:
    """Lower-case table, schema, catalog and alias names: DuckDB matches them case-insensitively,
    quoted or not, and the guard must compare names as DuckDB will."""
    for node in root.walk():
        if isinstance(node, (exp.Table, exp.Column)):
            keys: tuple[str, ...] = ("this", "db", "catalog") if isinstance(node, exp.Table) else (
                "table", "db", "catalog")
        elif isinstance(node, exp.TableAlias):
            keys = ("this",)
        else:
            continue
        for key in keys:
            ident = node.args.get(key)
            if isinstance(ident, exp.Identifier):
                ident.set("this", ident.this.lower())


def _normalize_schema(schema: Mapping[str, Sequence[str]]) -> dict[str, frozenset[str]]:
    return {name.lower(): frozenset(c.lower() for c in columns) for name, columns in schema.items()}


# --- scopes: which unqualified names are CTEs ---------------------------------------------------

def _cte_of(source: Scope) -> exp.CTE | None:
    node: exp.Expr | None = source.expression
    while node is not None and not isinstance(node, exp.CTE):
        node = node.parent
    return node


def _cte_references(root: exp.Expr) -> dict[int, exp.CTE]:
    """id(table node) -> the CTE it names, per sqlglot's scopes (the visible CTEs of its scope)."""
    try:
        scopes = traverse_scope(root)
    except (OptimizeError, SqlglotError) as exc:
        raise QueryRefused("unsupported", "CTE / scope", _first_line(str(exc))) from None
    found: dict[int, exp.CTE | None] = {}
    for scope in scopes:
        for table in scope.tables:
            if table.db or table.catalog or not isinstance(table.this, exp.Identifier):
                continue
            source = scope.cte_sources.get(table.name)
            cte = _cte_of(source) if isinstance(source, Scope) else None
            if cte is not None and cte.alias != table.name:
                cte = None
            if id(table) in found and found[id(table)] is not cte:
                raise QueryRefused("unsupported", table.name, "ambiguous CTE reference")
            found[id(table)] = cte
    return {k: v for k, v in found.items() if v is not None}


# --- rewriting ------------------------------------------------------------------------------------

def _company_filter(company_codes: frozenset[str]) -> exp.Expr:
    if not company_codes:
        return exp.false()  # no company: no row
    return exp.column(COMPANY_COLUMN).isin(*(exp.Literal.string(c) for c in sorted(company_codes)))


def _confine(table: exp.Table, name: str, condition: exp.Expr | None) -> None:
    """Replace the table node by a subquery reading it filtered by company, same alias."""
    for key, value in table.args.items():
        if value and key not in _TABLE_ARGS_KEPT and key not in ("this", "db", "catalog"):
            raise QueryRefused("unsupported", f"{table.sql(DIALECT)}", f"table option {key}")
    if condition is None:
        return
    inner = exp.Table(this=table.this.copy(), db=table.args.get("db"), catalog=table.args.get("catalog"))
    select = exp.Select(expressions=[exp.Star()], from_=exp.From(this=inner),
                        where=exp.Where(this=condition.copy()))
    alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(name))
    wrapper = exp.Subquery(this=select, alias=alias)
    for key in ("joins", "laterals", "pivots", "sample"):
        if table.args.get(key):
            wrapper.set(key, table.args[key])
    table.replace(wrapper)


def _check_macro_call(table: exp.Table, call: exp.Anonymous, catalog: str) -> str:
    name = call.name.lower()
    if name not in TABLE_MACROS:
        raise QueryRefused("table_function", f"{call.name}()")
    if table.db not in _MACRO_SCHEMAS or (table.catalog and table.catalog != catalog):
        shown = ".".join(p for p in (table.catalog, table.db) if p)
        raise QueryRefused("table_function", f"{shown}.{call.name}()")
    args = call.expressions
    if len(args) != TABLE_MACROS[name]:
        raise QueryRefused("macro_argument", f"{name}()", f"{len(args)} given, {TABLE_MACROS[name]} expected")
    for arg in args:
        for node in arg.walk():
            if not isinstance(node, _LITERAL_NODES):
                raise QueryRefused("macro_argument", f"{name}({arg.sql(DIALECT)})")
    return name


def _rename_ctes(root: exp.Expr, references: dict[int, exp.CTE], tables: list[exp.Table]) -> None:
    """Give every CTE a guard-owned name; references keep the analyst's name as their alias."""
    ctes = list(root.find_all(exp.CTE))
    new_names = {id(cte): f"{_CTE_PREFIX}{i}_{cte.alias}" for i, cte in enumerate(ctes)}
    for table in tables:
        cte = references.get(id(table))
        if cte is None:
            continue
        if not table.args.get("alias"):
            table.set("alias", exp.TableAlias(this=exp.to_identifier(table.name)))
        table.set("this", exp.to_identifier(new_names[id(cte)]))
    for cte in ctes:
        cte.args["alias"].set("this", exp.to_identifier(new_names[id(cte)]))


def _strip_table_qualifiers(root: exp.Expr, unaliased: set[tuple[str, str]], catalog: str) -> None:
    """dwd.dwd_ar_item.bukrs -> dwd_ar_item.bukrs, and the whole row dwd.dwd_ar_item -> dwd_ar_item:
    the wrapped table is known by its name alone."""
    if not unaliased:
        return
    for column in root.find_all(exp.Column):
        if column.args.get("db") and (column.text("db"), column.table) in unaliased:
            column.set("db", None)
            column.set("catalog", None)
        elif (column.table, column.name) in unaliased and column.text("db") in ("", catalog):
            column.set("table", None)
            column.set("db", None)


def _cap(root: exp.Expr, cap: int) -> exp.Expr:
    """The outer query gets LIMIT cap unless it already has a smaller one."""
    if isinstance(root, exp.Values):
        root = exp.Select(expressions=[exp.Star()], from_=exp.From(this=root))
    limit = root.args.get("limit")
    if limit is None:
        root.set("limit", exp.Limit(expression=exp.Literal.number(cap)))
        return root
    count = limit.args.get("count") if isinstance(limit, exp.Fetch) else limit.expression
    options = limit.args.get("limit_options")
    percent = bool(options and options.args.get("percent"))
    if not percent and isinstance(count, exp.Literal) and not count.is_string and count.is_int:
        if int(count.this) > cap:
            root.set("limit", exp.Limit(expression=exp.Literal.number(cap)))
        return root
    if not percent and count is not None and not isinstance(count, (exp.Null, exp.Var)):
        root.set("limit", exp.Limit(expression=exp.func("least", count.copy(), exp.Literal.number(cap))))
        return root
    # LIMIT n PERCENT, LIMIT ALL / NULL: cap around it
    wrapper = exp.Select(expressions=[exp.Star()],
                         from_=exp.From(this=exp.Subquery(this=root, alias=exp.TableAlias(
                             this=exp.to_identifier("__guard_capped")))))
    wrapper.set("limit", exp.Limit(expression=exp.Literal.number(cap)))
    return wrapper


# --- the guard ------------------------------------------------------------------------------------

def guard(sql: str, schema: Mapping[str, Sequence[str]], company_codes: frozenset[str] | None,
          max_rows: int = DEFAULT_MAX_ROWS, *, catalog: str = DEFAULT_CATALOG) -> GuardedQuery:
    """Accept one read-only query over ``schema`` and confine it to ``company_codes``.

    ``schema``: "schema.table" -> columns of the tables the caller may read; ``company_codes``: the
    caller's company codes, None for the auditor who sees all, empty for none. Raises QueryRefused.
    """
    if max_rows < 1:
        raise ValueError("max_rows must be at least 1")
    dialect = Dialect.get_or_raise(DIALECT)
    allowed = _normalize_schema(schema)
    statements = _statements(sql, dialect)
    if not statements:
        raise QueryRefused("empty", "（空）(empty)")
    if len(statements) > 1:
        raise QueryRefused("multiple_statements", f"{len(statements)} 条语句 statements")
    _refuse_by_keyword(statements[0])
    root = _parse(sql, statements[0], dialect)
    if not isinstance(root, (exp.Select, exp.SetOperation, exp.Subquery, exp.Values)) or (
            isinstance(root, exp.Subquery) and not isinstance(root.unnest(), exp.Query)):
        inner = root.unnest() if isinstance(root, exp.Subquery) else root
        _refuse_statement_node(inner)
        raise QueryRefused("statement", type(inner).__name__.upper())

    table_nodes = _check_tree(root)
    _normalize_identifiers(root)
    references = _cte_references(root)
    condition = None if company_codes is None else _company_filter(frozenset(company_codes))

    read: set[str] = set()
    to_confine: list[tuple[exp.Table, str, exp.Expr | None]] = []
    unaliased: set[tuple[str, str]] = set()
    for table in table_nodes:
        if id(table) in references:
            continue
        target = table.this
        if isinstance(target, exp.Anonymous):
            name = _check_macro_call(table, target, catalog)
            read.add(f"{name}()")
            to_confine.append((table, name, condition))
        elif isinstance(target, exp.GenerateSeries):
            # range / generate_series: a pure generator, no storage; arguments are checked like any
            to_confine.append((table, "range", None))
        elif isinstance(target, exp.Func):
            raise QueryRefused("table_function", _name_of(target))
        elif isinstance(target, exp.Identifier):
            key = f"{table.db}.{table.name}"
            if not table.db or key not in allowed or (table.catalog and table.catalog != catalog):
                shown = ".".join(p for p in (table.catalog, table.db, table.name) if p)
                raise QueryRefused("unknown_table", shown)
            read.add(key)
            filtered = COMPANY_COLUMN in allowed[key]
            to_confine.append((table, table.name, condition if filtered else None))
            if filtered and not table.args.get("alias"):
                unaliased.add((table.db, table.name))
        else:
            raise QueryRefused("unsupported", table.sql(DIALECT))

    _rename_ctes(root, references, table_nodes)
    for table, name, table_condition in to_confine:
        _confine(table, name, table_condition)
    if condition is not None:
        _strip_table_qualifiers(root, unaliased, catalog)
    cap = max_rows + 1
    root = _cap(root, cap)
    out = root.sql(dialect=DIALECT, comments=False)  # comments never reach the database
    _verify(out, dialect, allowed, condition, catalog)
    return GuardedQuery(sql=out, tables=tuple(sorted(read)), truncated_at=max_rows)


def _verify(out: str, dialect: Dialect, allowed: Mapping[str, frozenset[str]],
            condition: exp.Expr | None, catalog: str) -> None:
    """Defence in depth: the rewritten SQL, parsed again, is one query in which every real table
    and macro call of a company-bound source sits directly inside its company filter."""
    try:
        parsed = [e for e in dialect.parse(out) if e is not None]
    except SqlglotError as exc:
        raise QueryRefused("unsupported", "rewrite", _first_line(str(exc))) from None
    if len(parsed) != 1 or not isinstance(parsed[0], exp.Query):
        raise QueryRefused("unsupported", "rewrite", "not a single query after rewriting")
    cte_names = {cte.alias for cte in parsed[0].find_all(exp.CTE)}
    for table in parsed[0].find_all(exp.Table):
        target = table.this
        if isinstance(target, exp.Identifier) and not table.db:
            if table.name not in cte_names or not table.name.startswith(_CTE_PREFIX):
                raise QueryRefused("unsupported", table.name, "unresolved reference after rewriting")
            continue
        if isinstance(target, exp.GenerateSeries):
            continue
        if isinstance(target, exp.Func) and not (
                isinstance(target, exp.Anonymous) and target.name.lower() in TABLE_MACROS):
            raise QueryRefused("unsupported", table.sql(DIALECT), "table function after rewriting")
        key = f"{table.db}.{table.name}"
        if not isinstance(target, exp.Anonymous) and (
                key not in allowed or (table.catalog and table.catalog != catalog)):
            raise QueryRefused("unsupported", table.sql(DIALECT), "unknown table after rewriting")
        bound = isinstance(target, exp.Anonymous) or COMPANY_COLUMN in allowed[key]
        if condition is None or not bound:
            continue
        select = table.parent.parent if isinstance(table.parent, exp.From) else None
        if not (isinstance(select, exp.Select) and isinstance(select.parent, exp.Subquery)
                and select.args.get("where") is not None and not select.args.get("joins")
                and select.args["where"].this == condition):
            raise QueryRefused("unsupported", table.sql(DIALECT), "not confined after rewriting")
