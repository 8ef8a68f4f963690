"""Celery entry point: ``celery -A copydesk.workers.celery_app worker -Q summary``."""

from copydesk.workers.app import create_celery_app

app = create_celery_app()
