"""Celery workers: the app factory, analysis tasks and webhook delivery."""
