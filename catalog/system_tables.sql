-- 系统表 The system's own tables, defined once: `respool` creates them all when it opens a
-- database for writing (catalog.system_tables.ensure_system_tables). Add a column with
-- ALTER TABLE ... ADD COLUMN IF NOT EXISTS so that older databases follow.

CREATE SCHEMA IF NOT EXISTS meta;
CREATE SCHEMA IF NOT EXISTS ods;
CREATE SCHEMA IF NOT EXISTS quarantine;

-- ---- ingest ---------------------------------------------------------------------------------
-- every delivery of a table and business date: loaded, refused or skipped, and why
CREATE TABLE IF NOT EXISTS meta.batch (
    batch_id      VARCHAR PRIMARY KEY,
    system        VARCHAR NOT NULL,
    table_name    VARCHAR NOT NULL,
    biz_date      DATE    NOT NULL,
    mode          VARCHAR,
    encoding      VARCHAR,
    files         INTEGER,
    rows          BIGINT,
    bytes         BIGINT,
    chk_md5       VARCHAR NOT NULL,
    chk_path      VARCHAR NOT NULL,
    status        VARCHAR NOT NULL,      -- loaded | refused | skipped | interrupted (rolled back, taken again)
    rule          VARCHAR,               -- the contract rule a refused delivery broke
    reason        VARCHAR,
    superseded_by VARCHAR,               -- set when a later batch replaced this batch's rows
    recorded_at   TIMESTAMP NOT NULL,
    arrived_at    TIMESTAMP              -- UTC: when the control file landed (its mtime)
);
ALTER TABLE meta.batch ADD COLUMN IF NOT EXISTS arrived_at TIMESTAMP;
-- the files of every delivery, as the control file lists them
CREATE TABLE IF NOT EXISTS meta.batch_file (
    batch_id  VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    rows      BIGINT,
    bytes     BIGINT,
    md5       VARCHAR,
    PRIMARY KEY (batch_id, file_name)
);

-- ---- build: every model run, and the cleansing reconciliation of every build -----------------
CREATE TABLE IF NOT EXISTS meta.model_run (
    model VARCHAR, status VARCHAR, rows BIGINT, seconds DOUBLE, error VARCHAR, built_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS meta.cleansing_reconciliation (
    ods_table VARCHAR, model VARCHAR, rows_in BIGINT, kept BIGINT, superseded BIGINT, quarantined BIGINT,
    balanced BOOLEAN, built_at TIMESTAMP
);

-- ---- quality: every expectation of every run ------------------------------------------------
CREATE TABLE IF NOT EXISTS meta.quality_result (
    run_id             VARCHAR   NOT NULL,
    run_at             TIMESTAMP NOT NULL,
    suite              VARCHAR   NOT NULL,
    target_table       VARCHAR   NOT NULL,   -- e.g. ods.bseg, dwd.dwd_ar_item
    expectation_id     VARCHAR   NOT NULL,
    expectation_type   VARCHAR   NOT NULL,
    column_name        VARCHAR,              -- the checked column, NULL for table-level checks
    dimension          VARCHAR   NOT NULL,   -- 规范性 完整性 准确性 一致性 时效性 可访问性
    severity           VARCHAR   NOT NULL,   -- error | warn
    success            BOOLEAN   NOT NULL,
    observed_value     VARCHAR,              -- JSON
    element_count      BIGINT,
    unexpected_count   BIGINT,
    unexpected_percent DOUBLE,
    examples           VARCHAR,              -- JSON list of a few unexpected values or rows
    exception          VARCHAR,
    description_zh     VARCHAR,
    description_en     VARCHAR,
    checked_biz_date   DATE                  -- the business-date partition the run checked
);
ALTER TABLE meta.quality_result ADD COLUMN IF NOT EXISTS checked_biz_date DATE;

-- ---- quality: metric history behind the band checks ------------------------------------------
CREATE TABLE IF NOT EXISTS meta.quality_metric (
    table_name VARCHAR NOT NULL,   -- ods.bseg
    biz_date   DATE    NOT NULL,
    metric     VARCHAR NOT NULL,   -- row_count | sum:<COLUMN> | null_rate:<COLUMN>
    value      DOUBLE,
    PRIMARY KEY (table_name, biz_date, metric)
);

-- ---- lineage --------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS meta.column_lineage (
    model         VARCHAR   NOT NULL,   -- e.g. dwd.dwd_ar_item
    column_name   VARCHAR   NOT NULL,
    position      INTEGER   NOT NULL,   -- 1-based, the column's place in the model's output
    source_table  VARCHAR,              -- NULL when the column has no source (a literal)
    source_column VARCHAR,
    kind          VARCHAR,              -- direct | transform | filter
    sql_md5       VARCHAR   NOT NULL,   -- md5 of the model's SQL these rows were computed from
    computed_at   TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS meta.lineage_problem (
    model       VARCHAR   NOT NULL,
    path        VARCHAR   NOT NULL,
    line        INTEGER,
    col         INTEGER,
    message     VARCHAR   NOT NULL,
    sql_md5     VARCHAR,
    computed_at TIMESTAMP NOT NULL
);

-- ---- publication: one row in each published snapshot, where it came from (empty elsewhere) ----
CREATE TABLE IF NOT EXISTS meta.publication (
    publication_id  VARCHAR   NOT NULL,  -- this snapshot
    source_db       VARCHAR   NOT NULL,  -- absolute path of the database it was copied from
    quality_run_id  VARCHAR,             -- the latest quality run whose checks let it through
    dagster_run_id  VARCHAR,             -- the Dagster run that published it, if any
    biz_date        DATE,                -- the newest business date loaded into the source
    published_at    TIMESTAMP NOT NULL,  -- UTC
    published_on    VARCHAR              -- host name
);

-- ---- catalog (数据目录): rebuilt by every run from the register, models, lineage, quality ----------
-- lists (key, upstream, terms ...) and the quality figures are JSON text
CREATE TABLE IF NOT EXISTS meta.catalog_table (
    table_name VARCHAR PRIMARY KEY, layer VARCHAR NOT NULL, name_zh VARCHAR, name_en VARCHAR, domain VARCHAR,
    owner VARCHAR, description_zh VARCHAR, description_en VARCHAR, grain VARCHAR, "key" VARCHAR,
    row_count BIGINT, latest_biz_date DATE, refreshed_at TIMESTAMP, quality_date DATE, quality VARCHAR,
    failing VARCHAR, trend VARCHAR, upstream VARCHAR, downstream VARCHAR, terms VARCHAR, published BOOLEAN,
    company_scoped BOOLEAN, "exists" BOOLEAN, "sql" VARCHAR, path VARCHAR
);
CREATE TABLE IF NOT EXISTS meta.catalog_column (
    table_name VARCHAR NOT NULL, position INTEGER NOT NULL, column_name VARCHAR NOT NULL, type VARCHAR,
    nullable BOOLEAN, zh VARCHAR, en VARCHAR, sap_code VARCHAR, origin VARCHAR, sensitivity VARCHAR, terms VARCHAR,
    PRIMARY KEY (table_name, position)
);
CREATE TABLE IF NOT EXISTS meta.catalog_term (
    position INTEGER PRIMARY KEY, term VARCHAR NOT NULL, en VARCHAR, domain VARCHAR, definition_zh VARCHAR,
    definition_en VARCHAR, synonyms VARCHAR, sap VARCHAR, columns VARCHAR
);
CREATE TABLE IF NOT EXISTS meta.catalog_build (built_at TIMESTAMP NOT NULL, source_db VARCHAR);
