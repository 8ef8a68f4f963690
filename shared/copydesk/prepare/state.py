"""Prepare's steps in Redis: start preparing, then store the document and queue the analyses.

The text work itself (``text``, ``html``, ``boilerplate``, ``language``) sits beside this
module; the worker's side of the stage (``copydesk.prepare.stage``, with the encoder) is in
services/workers.
"""

from __future__ import annotations

import json
from typing import Any

from copydesk.core.document import Document
from copydesk.core.ids import now_rfc3339
from copydesk.store.base import COMMON_LUA, INFLIGHT, StoreBase, Transition, text

SAVE_PREPARED = (
    COMMON_LUA
    + """
-- KEYS: job hash, channel, doc, vectors, raw article, in-flight set, then one queue per message
-- ARGV: doc json, vectors bytes ('' for none), article json, now, ttl, step, job id, stall
-- seconds, then one message per queue. Step 'text' stores the document and queues the analyses that need no
-- vectors (once); step 'final' stores the vectors and queues the rest, and ends preparing.
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
if redis.call('HGET', KEYS[1], 'prepared') == '1' then return 'done' end
if redis.call('HEXISTS', KEYS[1], 'completed_at') == 1 then  -- cancelled meanwhile: text only
  redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[5])
  redis.call('HSET', KEYS[1], 'text_ready', '1', 'article', ARGV[3])
  redis.call('DEL', KEYS[5])
  return 'done'
end
local step = ARGV[6]
if step == 'text' and redis.call('HGET', KEYS[1], 'text_ready') == '1' then return 'done' end
redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[5])
if ARGV[2] ~= '' then redis.call('SET', KEYS[4], ARGV[2], 'EX', ARGV[5]) end
redis.call('HSET', KEYS[1], 'text_ready', '1', 'article', ARGV[3], 'updated_at', ARGV[4])
if step == 'final' then
  redis.call('HSET', KEYS[1], 'prepared', '1')
  redis.call('DEL', KEYS[5])
end
emit(KEYS[1], KEYS[2], {type='job.' .. step .. '_prepared'})
redis.call('ZADD', KEYS[6], 'GT', now() + tonumber(ARGV[8]), ARGV[7])
for i = 7, #KEYS do redis.call('LPUSH', KEYS[i], ARGV[i + 2]) end
return 'prepared'
"""
)


class PrepareState(StoreBase):
    def start_prepare(self, job_id: str, *, token: str = "", retry: bool = False) -> Transition:
        """Mark the prepare stage as started; ``done`` when a delivery already fanned out."""
        return self.begin(job_id, "prepare", "prepared", token=token, retry=retry)

    def save_prepared(
        self,
        job_id: str,
        *,
        doc: Document,
        vectors: bytes | None,
        article: dict[str, Any],
        messages: list[tuple[str, str]],
        step: str = "final",
    ) -> str:
        """Store the prepared document and vectors and queue the analyses, in one step.

        One script, so a crash leaves either nothing (the prepare task is delivered again) or
        everything; a second delivery that gets here finds ``prepared`` and queues nothing.
        ``step="text"`` first queues the analyses that need no vectors (Hugging Face models),
        once even across deliveries, so they never wait for the encoder; ``"final"`` follows.
        Analyses that failed in the prepare stage are recorded before this, so the document
        is stored even when they ended the job (``GET .../text`` still shows it).
        """
        keys = [*self._keys(job_id), INFLIGHT, *(queue for queue, _ in messages)]
        args: list[Any] = [
            doc.to_json(),
            vectors or b"",
            json.dumps(article, ensure_ascii=False),
            now_rfc3339(),
            self.ttl,
            step,
            job_id,
            self.stall,
            *(payload for _, payload in messages),
        ]
        return text(self.script(SAVE_PREPARED)(keys=keys, args=args))
