"""Assets that stand for the pipeline's own records and for publication:
`meta/delivery_log` (meta.batch and the metric history), `quarantine/quarantine_log`, and
`meta/data_catalog` (the catalog and its site) and `published/respool_snapshot`, the read-only copy
analysts query (with the catalog in it)."""

from pathlib import Path

import dagster as dg
from pydantic import Field

from catalog.register import Register
from pipelines import config
from pipelines.orchestration.ods_assets import DUCKDB_POOL
from pipelines.orchestration.resources import RespoolResource
from pipelines.publish import PublishRefused, publish, read_provenance
from quality.metrics import record_metrics


class PublishResource(dg.ConfigurableResource):
    """Where the published snapshot goes: empty = $RESPOOL_PUBLISHED_DB, else the database's own
    (DIR/published/NAME.duckdb beside DIR/NAME.duckdb)."""

    target: str = Field(default="", description="published snapshot; empty: $RESPOOL_PUBLISHED_DB, "
                                                "else published/NAME.duckdb beside the database")
    replace_source: bool = Field(default=False, description="replace a snapshot published from another database")

    def target_for(self, db: Path) -> Path:
        return Path(self.target) if self.target else config.published_db(db)


def _control_asset(key: list[str], group: str, deps: list[dg.AssetKey], zh: str, en: str):
    """An asset over the pipeline's own records: in the duckdb pool, described in Chinese and English."""
    return dg.asset(key=key, group_name=group, deps=deps, pool=DUCKDB_POOL, kinds={"duckdb"}, description=f"{zh}\n\n{en}")


def build_control_assets(register: Register, ods_keys: list[dg.AssetKey], stg_keys: list[dg.AssetKey],
                         pool_keys: list[dg.AssetKey]) -> list[dg.AssetsDefinition]:
    @_control_asset(["meta", "delivery_log"], "ods", ods_keys,
                    "交付记录（meta.batch）与指标历史（meta.quality_metric）：每次交付的状态、行数、拒收原因。",
                    "The delivery log and the metric history behind the timeliness and band checks.")
    def delivery_log(respool: RespoolResource) -> dg.MaterializeResult:
        with respool.connect() as con:
            metrics = record_metrics(con, register)
            counts = dict(con.execute("SELECT status, count(*) FROM meta.batch GROUP BY 1").fetchall())
            latest = con.execute("SELECT strftime(max(biz_date), '%Y-%m-%d') FROM meta.batch").fetchone()[0]
        return dg.MaterializeResult(metadata={
            "loaded": counts.get("loaded", 0), "refused": counts.get("refused", 0),
            "skipped": counts.get("skipped", 0), "latest_biz_date": latest or "", "metric_rows": metrics})

    @_control_asset(["quarantine", "quarantine_log"], "stg", stg_keys,
                    "隔离区：无法清洗的交付行（quarantine.stg_*），含原因代码。",
                    "Rows that could not be cleansed, with their reason codes.")
    def quarantine_log(respool: RespoolResource) -> dg.MaterializeResult:
        with respool.connect() as con:
            rows = con.execute("SELECT table_name FROM information_schema.tables "
                               "WHERE table_schema = 'quarantine' ORDER BY 1").fetchall()
            counts = {t: con.execute(f"SELECT count(*) FROM quarantine.{t}").fetchone()[0] for (t,) in rows}
        return dg.MaterializeResult(metadata={"dagster/row_count": sum(counts.values()), **counts})

    @_control_asset(["meta", "data_catalog"], "publish",
                    [*pool_keys, dg.AssetKey(["meta", "delivery_log"]), dg.AssetKey(["quarantine", "quarantine_log"])],
                    "数据目录：每张表的中英文名称、字段说明、行数、新鲜度、质量得分、上下游与业务术语"
                    "（meta.catalog_*），以及可离线打开的目录网站。",
                    "The data catalog - every table's names, column docs, figures, freshness, quality, "
                    "neighbours and glossary terms (meta.catalog_*) - and its static site.")
    def data_catalog(respool: RespoolResource) -> dg.MaterializeResult:
        from catalog.builder import build_catalog, write_catalog
        from catalog.site import write_project_site

        db = Path(respool.db_path)
        with respool.connect() as con:
            built = build_catalog(con, source_db=str(db.resolve()))
            write_catalog(con, built)
        index = write_project_site(built, config.catalog_dir())
        return dg.MaterializeResult(metadata={
            "tables": len(built.tables), "columns": sum(len(t.columns) for t in built.tables),
            "glossary_terms": len(built.glossary), "undocumented": len(built.undocumented),
            "site": dg.MetadataValue.path(str(index))})

    @_control_asset(["published", "respool_snapshot"], "publish",
                    [*pool_keys, dg.AssetKey(["meta", "delivery_log"]), dg.AssetKey(["quarantine", "quarantine_log"]),
                     dg.AssetKey(["meta", "data_catalog"])],
                    "发布：分析人员查询的只读快照，仅在阻断性（error）检查全部通过后原子替换。",
                    "The read-only snapshot analysts query, swapped in atomically only after the blocking "
                    "checks passed.")
    def respool_snapshot(context: dg.AssetExecutionContext, respool: RespoolResource,
                         publish_target: PublishResource) -> dg.MaterializeResult:
        db = Path(respool.db_path)
        try:
            path = publish(db, publish_target.target_for(db), replace_source=publish_target.replace_source,
                           dagster_run_id=context.run.run_id)
        except PublishRefused as exc:
            raise dg.Failure(description=f"未发布 not published: {exc}") from None
        made = read_provenance(path)
        return dg.MaterializeResult(metadata={
            "path": str(path), "bytes": path.stat().st_size, "source_db": made.source_db,
            "biz_date": str(made.biz_date), "published_at": f"{made.published_at:%Y-%m-%d %H:%M:%S} UTC",
            "quality_run_id": made.quality_run_id or ""})

    return [delivery_log, quarantine_log, data_catalog, respool_snapshot]


class BackupResource(dg.ConfigurableResource):
    """Where backups go and how many the nightly backup keeps."""

    root: str = Field(default="", description="backup root; empty: $RESPOOL_BACKUP_DIR, else data/backups")
    keep: int = Field(default_factory=config.backup_keep, description="newest backups kept ($RESPOOL_BACKUP_KEEP)")

    def root_path(self) -> Path:
        return Path(self.root) if self.root else config.backup_dir()


@dg.asset(key=["meta", "backup"], group_name="operations", pool=DUCKDB_POOL, kinds={"duckdb"},
          description="备份：数据库、数据服务的访问库与审计日志，附大小与校验和清单；只保留最新的 N 份。\n\n"
                      "A backup of the database, the access database and the audit log with a manifest of sizes "
                      "and checksums; the newest N are kept. Its own schedule, after the nightly run, so that a "
                      "failing check never stops it.")
def nightly_backup(respool: RespoolResource, backups: BackupResource) -> dg.MaterializeResult:
    from pipelines.backup import backup, prune

    root = backups.root_path()
    folder = backup(root, Path(respool.db_path), config.default_access_db(), config.default_audit_log())
    removed = prune(root, backups.keep)
    return dg.MaterializeResult(metadata={
        "backup": dg.MetadataValue.path(str(folder)), "kept": backups.keep, "removed": len(removed),
        "bytes": sum(p.stat().st_size for p in folder.iterdir())})
