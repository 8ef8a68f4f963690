"""Build the Celery app that runs copydesk's prepare stage and analyses.

Delivery guarantees live in configuration, not in task bodies: late acks with
``reject_on_worker_lost`` put a task back when its process dies, and a short
``unacked_restore`` sweep brings back messages a dead worker held within seconds of their
visibility timeout rather than kombu's default ~100 s.
"""

from __future__ import annotations

from celery import Celery
from celery.signals import (
    setup_logging,
    worker_process_init,
    worker_process_shutdown,
    worker_shutdown,
)
from kombu import Exchange, Queue

from copydesk.core.names import (
    ANALYSIS_TASKS,
    PREPARE_QUEUE,
    PREPARE_TASK,
    PRIORITY_STEPS,
    QUEUES,
)
from copydesk.core.settings import Settings, get_settings
from copydesk.workers import broker


def create_celery_app(settings: Settings | None = None) -> Celery:
    """Return a configured Celery app with copydesk's tasks registered."""
    from copydesk.workers import tasks

    settings = settings or get_settings()
    broker.register()  # kombu's Redis transports, mended: see copydesk.workers.broker
    app = Celery("copydesk", broker=broker_url(settings), set_as_current=True)
    app.conf.update(
        # each queue on its own direct exchange: a task Celery re-sends (a retry) reaches
        # its own queue only
        task_queues=[
            Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES
        ],
        task_default_queue=PREPARE_QUEUE,
        task_routes={
            PREPARE_TASK: {"queue": PREPARE_QUEUE},
            **{task: {"queue": name} for name, task in ANALYSIS_TASKS.items()},
        },
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        worker_prefetch_multiplier=1,
        worker_max_memory_per_child=settings.worker_max_memory_per_child_mb * 1024 or None,
        # a pool process loads its model before it reports up; Celery's 4 s default kills it
        # mid-load on a busy machine, over and over
        worker_proc_alive_timeout=120,
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            # job priorities (copydesk.core.names): every queue's high list before any normal
            "priority_steps": sorted(PRIORITY_STEPS.values()),
            "visibility_timeout": settings.task_visibility_timeout,
            **sentinel_options(settings),
            "unacked_restore_interval": 2,
            "unacked_restore_throttle": 1,
        },
    )
    app.conf.copydesk_settings = settings
    tasks.register(app, settings)
    return app


def broker_url(settings: Settings) -> str:
    """Celery's broker: the Redis URL, or kombu's ``sentinel://`` list of the Sentinels."""
    if not settings.redis_sentinels:
        return settings.redis_url
    password, database = settings.redis_credentials
    auth = f":{password}@" if password else ""
    return ";".join(
        f"sentinel://{auth}{address}/{database}" for address in settings.redis_sentinels
    )


def sentinel_options(settings: Settings) -> dict[str, object]:
    return {"master_name": settings.redis_sentinel_master} if settings.redis_sentinels else {}


@worker_process_init.connect
def _prepare_process(**_: object) -> None:
    """Cap the process's memory, then load the models its queues need before work arrives.

    Loading here rather than on the first task keeps the first job as fast as the rest. Only
    the prepare queue and analyses configured with a Hugging Face model need a model: the
    embedded analyses work on the vectors the prepare stage made, and the webhook worker
    imports no torch at all.
    """
    from celery import current_app

    from copydesk.workers.process import cap_memory, load_models, start_heartbeat

    settings = getattr(current_app.conf, "copydesk_settings", None) or get_settings()
    cap_memory(settings.worker_memory_limit_mb)
    consumed = current_app.amqp.queues.consume_from
    queues = set(consumed) if consumed else set(QUEUES)
    load_models(settings, queues=queues)
    start_heartbeat(settings, queues)  # /readyz and /v1/models read it


@worker_process_shutdown.connect  # a prefork pool process, as it exits
@worker_shutdown.connect  # the worker itself: the solo and threads pools run tasks in it
def _release_process(**_: object) -> None:
    """Close the analysers' PostgreSQL connections before the interpreter tears them down.

    Left open, psycopg finds them at exit and warns; PostgreSQL sees an abrupt disconnect. A
    process that never imported the analysers has nothing to close and imports nothing.
    """
    import sys

    registry = sys.modules.get("copydesk.analyse.registry")
    if registry is not None:
        registry.close_registries()


@setup_logging.connect
def _logging(**_: object) -> None:
    """copydesk's log format (JSON lines with job ids, or console) instead of Celery's own."""
    from copydesk.core.logs import configure

    settings = get_settings()
    configure("worker", fmt=settings.log_format, level=settings.log_level)
