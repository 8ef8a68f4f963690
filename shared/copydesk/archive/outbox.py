"""The archive's outbox: its key, and the Lua piece that queues a finished job in it.

Kept apart from ``copydesk.archive.state`` so that the scripts which queue a job (complete's
``FINISHED``, deliver's ``SETTLE``) and the archiver's own scripts import it without
importing each other.
"""

from __future__ import annotations

from copydesk.store.base import PREFIX

OUTBOX = f"{PREFIX}:archive:outbox"  # sorted set: finished job id by when it is due to archive

# Queue the job's archiving (the script declares K.outbox and has NOW): due at once, its
# version counted so an acknowledgement of an earlier version leaves this one queued.
QUEUE_ARCHIVE = """
local function queue_archive(job, job_id)
  redis.call('ZADD', K.outbox, now(), job_id)
  redis.call('HINCRBY', job, 'archive_version', 1)
  redis.call('HSET', job, 'archive', 'pending')
end
"""
