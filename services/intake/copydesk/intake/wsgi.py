"""WSGI entry point: ``gunicorn copydesk.intake.wsgi:app``."""

from copydesk.intake import create_app

app = create_app()
