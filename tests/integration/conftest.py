"""Integration fixtures: real Redis, the real intake app, a real in-process Celery worker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from copydesk.core.names import QUEUES
from copydesk.core.settings import Settings
from copydesk.store.jobs import RedisJobStore


SECRETS_KEY = "l4uoQ7lt2pUw0Wq9b0Kf1w6fUoX0V2jq7mQfM9M6QxA="


@pytest.fixture
def settings(redis_url: str) -> Settings:
    return Settings(
        redis_url=redis_url, webhook_allow_networks=["127.0.0.0/8"], secrets_key=SECRETS_KEY
    )


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def store(settings: Settings, redis_client: redis.Redis) -> RedisJobStore:
    return RedisJobStore(redis_client, ttl_seconds=settings.job_ttl_seconds)


@pytest.fixture
def make_client(redis_client: redis.Redis) -> Iterator[Callable[[Settings], Any]]:
    """Build a Flask test client of the real intake app for given settings."""
    from copydesk.intake import create_app

    apps = []

    def make(app_settings: Settings) -> Any:
        app = create_app(app_settings)
        app.config["TESTING"] = True
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:  # the app's own Redis connections, one per thread that used it
        app.extensions["copydesk"].store.redis.close()
        if app.extensions["copydesk"].archive is not None:
            app.extensions["copydesk"].archive.close()


@pytest.fixture
def client(settings: Settings, make_client: Callable[[Settings], Any]) -> Any:
    return make_client(settings)


@pytest.fixture
def start_worker(settings: Settings) -> Iterator[Callable[..., Any]]:
    """Start a real Celery worker thread on all queues for the given (or default) settings."""
    from celery.contrib.testing.worker import start_worker as celery_start_worker

    from copydesk.workers.app import create_celery_app

    contexts = []

    def start(worker_settings: Settings | None = None) -> Any:
        app = create_celery_app(worker_settings or settings)
        context = celery_start_worker(
            app,
            pool="threads",
            concurrency=2,
            perform_ping_check=False,
            queues=list(QUEUES),
            shutdown_timeout=30,
        )
        contexts.append(context)
        return context.__enter__()

    yield start
    for context in reversed(contexts):
        context.__exit__(None, None, None)
    if contexts:  # an embedded worker stops cold, without worker_shutdown: close as it would
        from copydesk.analyse.registry import close_registries

        close_registries()
