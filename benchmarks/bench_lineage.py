"""Column lineage over a synthetic model DAG: time for 50, 100 and 200 models of 30 columns.

Each model reads one upstream model through `SELECT *` in a CTE, joins a second one, ranks rows
with a window function and projects 30 columns mixing copies, CASE, arithmetic, casts and window
aggregates. Models are resolved in order and each one's output columns are added to the schema
the next models see, as the pipeline will do. Writes bench_out/lineage.json.
Target: under 10 s for 200 models, growing linearly.

    .venv/bin/python -m benchmarks.bench_lineage
"""

from __future__ import annotations

import json
import platform
import random
import time

import sqlglot

from lineage import column_edges
from pipelines.config import PROJECT_ROOT

OUT = PROJECT_ROOT / "bench_out"
SIZES = (50, 100, 200)
COLUMNS = 30
BASE_TABLES = 5
LAYERS = ("dwd", "dws", "ads")
SEED = 20261026
TARGET_SECONDS_200 = 10.0


def column(i: int) -> str:
    return f"c{i:02d}"


def model_name(i: int) -> str:
    return f"{LAYERS[i * len(LAYERS) // max(SIZES)]}.m{i:03d}"


def projection(j: int) -> str:
    """The j-th output column: a rotating mix of the constructs models use."""
    c, d, e = column(j), column((j + 1) % COLUMNS), column((j + 2) % COLUMNS)
    return [
        f"{c}",
        f"r.{c} AS {c}",
        f"CASE WHEN {d} > 0 THEN {c} ELSE {e} END AS {c}",
        f"coalesce(other_{c}, {c}) AS {c}" if j < 10 else f"{c} + {d} AS {c}",
        f"TRY_CAST({c} AS DECIMAL(18, 2)) AS {c}",
        f"sum({c}) OVER (PARTITION BY c01 ORDER BY c02) AS {c}",
    ][j % 6]


def model_sql(upstream: str, joined: str) -> str:
    others = ",\n            ".join(f"o.{column(j)} AS other_{column(j)}" for j in range(10))
    outputs = ",\n    ".join(projection(j) for j in range(COLUMNS))
    return f"""
WITH source AS (
    SELECT * FROM {upstream}
    WHERE c03 IS NOT NULL
),
enriched AS (
    SELECT s.*,
            {others}
    FROM source AS s
    LEFT JOIN {joined} AS o ON s.c00 = o.c00 AND o.c04 > 0
),
ranked AS (
    SELECT e.*, row_number() OVER (PARTITION BY c01 ORDER BY c02 DESC) AS rn
    FROM enriched AS e
)
SELECT
    {outputs}
FROM ranked AS r
WHERE rn = 1
"""


def generate(count: int, seed: int = SEED) -> list[tuple[str, str]]:
    """(name, sql) of `count` models, each reading earlier models or the base ods tables."""
    rng = random.Random(seed)
    tables = [f"ods.t{k}" for k in range(BASE_TABLES)]
    models = []
    for i in range(count):
        upstream, joined = rng.choice(tables[-20:]), rng.choice(tables)
        name = model_name(i)
        models.append((name, model_sql(upstream, joined)))
        tables.append(name)
    return models


def base_schema() -> dict[str, list[str]]:
    return {f"ods.t{k}": [column(j) for j in range(COLUMNS)] for k in range(BASE_TABLES)}


def run(count: int) -> dict:
    models = generate(count)
    schema = base_schema()
    edges = 0
    started = time.perf_counter()
    for name, sql in models:
        found = column_edges(sql, schema)
        schema[name] = list(dict.fromkeys(e.target for e in found))
        edges += len(found)
    seconds = time.perf_counter() - started
    assert all(len(schema[name]) == COLUMNS for name, _ in models)
    return {
        "models": count,
        "seconds": round(seconds, 3),
        "ms_per_model": round(1000 * seconds / count, 2),
        "edges": edges,
    }


def sqlglot_reference(count: int) -> dict:
    """The same models through sqlglot's own all-columns `lineage(None, …)`, for comparison."""
    from sqlglot.lineage import lineage

    nested: dict[str, dict[str, dict[str, str]]] = {}
    for name, columns in base_schema().items():
        db, table = name.split(".")
        nested.setdefault(db, {})[table] = dict.fromkeys(columns, "INT")
    started = time.perf_counter()
    for name, sql in generate(count):
        nodes = lineage(None, sql, schema=nested, dialect="duckdb", copy=False, trim_selects=False)
        db, table = name.split(".")
        nested.setdefault(db, {})[table] = dict.fromkeys(nodes, "INT")
    seconds = time.perf_counter() - started
    return {"models": count, "seconds": round(seconds, 3), "ms_per_model": round(1000 * seconds / count, 2)}


def main() -> dict:
    OUT.mkdir(exist_ok=True)
    column_edges("SELECT 1 + 1")  # warm-up: imports and the DuckDB name parser
    runs = [run(n) for n in SIZES]
    reference = sqlglot_reference(max(SIZES))
    per_model = [r["ms_per_model"] for r in runs]
    results = {
        "columns_per_model": COLUMNS,
        "runs": runs,
        "growth_200_vs_100": round(runs[-1]["seconds"] / runs[-2]["seconds"], 2),
        "ms_per_model_spread": round(max(per_model) / min(per_model), 2),
        "target_seconds_200": TARGET_SECONDS_200,
        "meets_target": runs[-1]["seconds"] < TARGET_SECONDS_200,
        "sqlglot_lineage_all_columns": reference,
        "python": platform.python_version(),
        "sqlglot": sqlglot.__version__,
    }
    for r in runs:
        print(
            f"{r['models']:>4} models: {r['seconds']:6.2f} s  {r['ms_per_model']:6.2f} ms/model  "
            f"{r['edges']} edges"
        )
    print(
        f"reference, sqlglot.lineage(None, …) on the same {reference['models']} models: "
        f"{reference['seconds']:.2f} s ({reference['ms_per_model']:.2f} ms/model, no filter edges)"
    )
    print(
        f"200 vs 100 models: x{results['growth_200_vs_100']} (linear = x2.0); "
        f"target < {TARGET_SECONDS_200:g} s for 200: {'met' if results['meets_target'] else 'MISSED'}"
    )
    (OUT / "lineage.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"wrote {OUT / 'lineage.json'}")
    return results


if __name__ == "__main__":
    main()
