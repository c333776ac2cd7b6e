"""Historical title data import (issue 18): 100,000 rows with 2 % bad rows, on SQLite and on PostgreSQL.

Figures, per database, each run in a fresh child process (its peak RSS is its own):
- floor_s: calamine reads the file and the rows go into history_record with the same bulk writer (COPY on
  PostgreSQL, Core executemany on SQLite), no validation;
- import_s: the real import job (`history.import` through services/jobs, eager): read, every rule, duplicates,
  store the batch and its failures;
- ratio = import_s / floor_s (target ≤ 3), rows_per_s, peak_rss_mb of the import (target ≤ 300).

PostgreSQL: BENCH_POSTGRES_URL (default the local server's database `test`), a schema of its own; skipped with a
note when it does not answer. Run: .venv/bin/python bench/history_import.py  (BENCH_ROWS=20000 for a quick run;
the last line of output is a JSON object).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ROWS = int(os.environ.get("BENCH_ROWS", "100000"))
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DOC = "川人社职〔2020〕60号"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number(n: int) -> str:
    body = f"510104{1960 + n % 40}{1 + n // 40 % 12:02d}{1 + n // 480 % 28:02d}{n // 13440 % 500 * 2 + 1:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


def write_file(path: Path) -> None:
    import xlsxwriter

    from services.history.records import COLUMNS

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet("历史职称数据")
    sheet.write_row(0, 0, [h for h, _, _, _ in COLUMNS])
    for n in range(ROWS):
        number = id_number(n)
        if n % 50 == 7:  # 2 %: a wrong check character
            number = number[:17] + ("0" if number[17] != "0" else "1")
        sheet.write_row(n + 1, 0, [f"人员{n}", "男", "居民身份证", number, "乐山市某单位", "工程技术人员", "建筑施工", "中级",
                                   "工程师", "初定", "2020-05-10", "2020-06-30", DOC, ""])
    book.close()


def child(kind: str, database: str, file: str, tmp: str) -> None:
    """One measurement in this process: prints a JSON line."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import HistoryBatch, HistoryRecord, Region, Unit
    from bench.support.app_db import build_app
    from services.common.bulk import insert_rows
    from services.common.excel.reader import open_sheet
    from services.history import upload
    from services.history.records import FIELDS

    app = build_app(Path(tmp), POSTGRES_URL if database == "postgres" else None, schema="bench_history",
                    extra={"CELERY_TASK_ALWAYS_EAGER": True})
    content = Path(file).read_bytes()
    with app.app_context():
        region = db.session.scalar(select(Region.id).where(Region.code == "511100B"))
        unit = Unit(name="乐山市人力资源和社会保障局", credit_code="11511100MB0000000X", unit_type_code="hr",
                    nature_code="organ", region_id=region, phone="0833-2000000", depth=0, path="")
        db.session.add(unit)
        db.session.flush()
        unit.path = f"/{unit.id}/"
        db.session.commit()
        profiler = None
        if os.environ.get("BENCH_PROFILE"):
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started = time.perf_counter()
        if kind == "floor":
            batch = HistoryBatch(method="initial", doc_no=DOC, collector_unit_id=unit.id, status="draft", path=[],
                                 qualification_file={}, opinion="")
            db.session.add(batch)
            db.session.flush()
            rows = open_sheet(content, upload.MAX_BYTES).iter_rows()
            next(rows)
            chunk: list[dict[str, Any]] = []
            for row_no, row in enumerate(rows, start=2):
                chunk.append({"batch_id": batch.id, "row_no": row_no, "status": "ok", "errors": {}, "high_risk": "",
                              **{name: str(value) for name, value in zip(FIELDS, row, strict=False)}})
                if len(chunk) >= 5000:
                    insert_rows(HistoryRecord.__table__, chunk)
                    chunk = []
            if chunk:
                insert_rows(HistoryRecord.__table__, chunk)
            db.session.commit()
            stored = ROWS
        else:
            batch = upload.create_batch(None, "initial", DOC, "bench.xlsx", content, unit=unit)
            db.session.flush()
            job = upload.start_check(None, batch, "/history/")
            db.session.expire_all()
            batch = db.session.get(HistoryBatch, batch.id)
            assert batch.status == "draft", (batch.status, db.session.get(type(job), job.id).error)
            stored = batch.ok_count + batch.failed_count
            assert batch.failed_count == ROWS // 50 + (1 if ROWS % 50 > 7 else 0), batch.failed_count
        seconds = time.perf_counter() - started
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": round(seconds, 3), "rows": stored, "peak_rss_mb": round(rss, 1)}))


def postgres_answers() -> bool:
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001 - any failure means: no PostgreSQL here
        return False


def measure(kind: str, database: str, file: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        output = subprocess.run([sys.executable, __file__, "--child", kind, database, str(file), tmp],
                                check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "history.xlsx"
        started = time.perf_counter()
        from app import create_app

        with create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).app_context():
            write_file(file)
        print(f"{ROWS} rows written in {time.perf_counter() - started:.1f} s ({file.stat().st_size / 1e6:.1f} MB)")
        figures: dict[str, Any] = {"rows": ROWS, "at": datetime.now().isoformat(timespec="seconds")}
        databases = ["sqlite"] + (["postgres"] if postgres_answers() else [])
        if "postgres" not in databases:
            print("PostgreSQL does not answer at BENCH_POSTGRES_URL: measured on SQLite only")
        for database in databases:
            floor = measure("floor", database, file)
            real = measure("import", database, file)
            ratio = real["seconds"] / floor["seconds"]
            print(f"{database}: import {real['seconds']:.2f} s vs floor {floor['seconds']:.2f} s, ratio {ratio:.2f} "
                  f"(target ≤ 3); {ROWS / real['seconds']:.0f} rows/s; peak RSS {real['peak_rss_mb']} MB "
                  f"(floor process {floor['peak_rss_mb']} MB; target ≤ 300)")
            figures[database] = {"floor_s": floor["seconds"], "import_s": real["seconds"], "ratio": round(ratio, 2),
                                 "rows_per_s": round(ROWS / real["seconds"]), "peak_rss_mb": real["peak_rss_mb"],
                                 "floor_peak_rss_mb": floor["peak_rss_mb"]}
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
    else:
        main()
