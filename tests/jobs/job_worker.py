"""A Celery worker process for tests/jobs/test_worker.py: the app built on the test database (overrides as JSON in
ZHIPING_TEST_OVERRIDES), the test job kinds registered, one solo worker on the given queue."""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import job_kinds  # noqa: E402,F401  (registers the test kinds)

from app import create_app  # noqa: E402

if __name__ == "__main__":
    overrides = json.loads(os.environ["ZHIPING_TEST_OVERRIDES"])
    flask_app = create_app(overrides, instance_path=os.environ["ZHIPING_TEST_INSTANCE"])
    celery = flask_app.extensions["celery"]
    celery.worker_main(["worker", "--pool=solo", "--loglevel=WARNING", "--without-gossip", "--without-mingle",
                        "--without-heartbeat", "-Q", overrides["CELERY_QUEUE"], "-n", f"test{os.getpid()}@%h"])
