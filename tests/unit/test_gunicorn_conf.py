"""The intake's gunicorn settings, read the way gunicorn reads them (``-c python:...``)."""

from __future__ import annotations

from gunicorn.app.base import Application
from gunicorn.config import Config

CONF = "python:copydesk.intake.gunicorn_conf"


def _built() -> Config:
    """The settings gunicorn ends with for one stack started with the intake's config."""
    loader = Application.__new__(Application)  # only its config loading, not an app
    loader.cfg = Config()
    loader.load_config_from_module_name_or_filename(CONF)
    return loader.cfg


def test_no_two_stacks_share_one_gunicorn_control_socket() -> None:
    """gunicorn 25+ opens a control socket at one path per user ($HOME/.gunicorn/gunicorn.ctl)
    by default: a second stack on the host would take over the first one's. copydesk never
    uses it (no gunicornc), so each stack has none."""
    sockets = [
        None if cfg.control_socket_disable else cfg.control_socket for cfg in (_built(), _built())
    ]
    assert sockets == [None, None] or len(set(sockets)) == 2, sockets
