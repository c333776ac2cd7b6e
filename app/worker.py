"""The Celery entry point: `celery -A app.worker worker` and `celery -A app.worker beat`."""

from app import create_app, freeze_startup_heap

flask_app = create_app()
freeze_startup_heap()
celery = flask_app.extensions["celery"]
