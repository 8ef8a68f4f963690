"""WSGI entry point: ``gunicorn copydesk.intake.wsgi:app``."""

from copydesk.core.logs import configure
from copydesk.core.settings import get_settings
from copydesk.intake import create_app

_settings = get_settings()
configure("intake", fmt=_settings.log_format, level=_settings.log_level)
app = create_app(_settings)
