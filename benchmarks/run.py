"""`make bench`: every benchmark in order, each against its floor, figures in bench_out/."""

from __future__ import annotations

from benchmarks import bench_lineage, catalog, dagster_speed, guard, ingest, pool, quality, service


def main() -> None:
    ingest.main()
    pool.main()
    quality.main()
    catalog.main()
    bench_lineage.main()
    guard.main()
    service.main()
    dagster_speed.main()


if __name__ == "__main__":
    main()
