"""The serving processes' entry points (wsgi.py for gunicorn, app/worker.py for Celery) build the app and then take
what start-up made out of the garbage collector's generations (app.freeze_startup_heap): a full collection walks only
what requests and jobs make. Run in a process of its own, as a server starts them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

CHECK = """
import gc, sys
import wsgi
web = gc.get_freeze_count()
gc.unfreeze()
import app.worker
print(web, gc.get_freeze_count(), wsgi.app.name, app.worker.celery.main)
"""


def test_the_web_and_job_entry_points_freeze_the_start_up_heap(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'entry.db'}", "SECRET_KEY": "entry-test",
           "UPLOAD_FOLDER": str(tmp_path / "uploads")}
    done = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    web, worker, app_name, _ = done.stdout.split()
    # The app's modules, mappers, routes and parsed diagrams: well over a hundred thousand objects each time.
    assert int(web) > 100_000 and int(worker) > 100_000, done.stdout
    assert app_name == "app"
