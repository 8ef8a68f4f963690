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
from copydesk.store.base import INFLIGHT, StoreBase, Transition, text
from copydesk.store.scripts import EMIT, NOW, Script
from copydesk.store.stats import STATS

SAVE_PREPARED = Script(
    keys=("job", "channel", "stream", "doc", "vectors", "raw", "inflight", "stats", "*queues"),
    args=(
        "job_id",
        "doc",
        "vectors",
        "article",
        "now",
        "ttl",
        "step",
        "stall",
        "stats",
        "*messages",
    ),
    body=NOW
    + EMIT
    + """
-- ``vectors`` is '' for none; ``messages`` go one to each of ``queues``. Step 'text' stores the
-- document and queues the analyses that need no vectors (once); step 'final' stores the vectors
-- and queues the rest, and ends preparing, counting its ``stats`` for /metrics (once a job).
if redis.call('EXISTS', K.job) == 0 then return 'missing' end
if redis.call('HGET', K.job, 'prepared') == '1' then return 'done' end
if redis.call('HEXISTS', K.job, 'completed_at') == 1 then  -- cancelled meanwhile: text only
  redis.call('SET', K.doc, A.doc, 'EX', A.ttl)
  redis.call('HSET', K.job, 'text_ready', '1', 'article', A.article)
  redis.call('DEL', K.raw)
  return 'done'
end
if A.step == 'text' and redis.call('HGET', K.job, 'text_ready') == '1' then return 'done' end
redis.call('SET', K.doc, A.doc, 'EX', A.ttl)
if A.vectors ~= '' then redis.call('SET', K.vectors, A.vectors, 'EX', A.ttl) end
redis.call('HSET', K.job, 'text_ready', '1', 'article', A.article, 'updated_at', A.now)
if A.step == 'final' then
  redis.call('HSET', K.job, 'prepared', '1')
  redis.call('DEL', K.raw)
  if A.stats ~= '' then
    local stats = cjson.decode(A.stats)
    for _, field in ipairs(stats.counts) do redis.call('HINCRBY', K.stats, field, 1) end
    for _, sum in ipairs(stats.sums) do redis.call('HINCRBYFLOAT', K.stats, sum[1], sum[2]) end
  end
end
emit({type='job.' .. A.step .. '_prepared'})
redis.call('ZADD', K.inflight, 'GT', now() + tonumber(A.stall), A.job_id)
for i, queue in ipairs(K.queues) do redis.call('LPUSH', queue, A.messages[i]) end
return 'prepared'
""",
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
        stats: str = "",
    ) -> str:
        """Store the prepared document and vectors and queue the analyses, in one step.

        One script, so a crash leaves either nothing (the prepare task is delivered again) or
        everything; a second delivery that gets here finds ``prepared`` and queues nothing.
        ``step="text"`` first queues the analyses that need no vectors (Hugging Face models),
        once even across deliveries, so they never wait for the encoder; ``"final"`` follows.
        Analyses that failed in the prepare stage are recorded before this, so the document
        is stored even when they ended the job (``GET .../text`` still shows it).
        ``stats`` (``copydesk.store.stats.prepare_stats``) are counted with the final step.
        """
        job = self.keys_of(job_id)
        keys = {
            "job": job.job,
            "channel": job.channel,
            "stream": job.stream,
            "doc": job.doc,
            "vectors": job.vectors,
            "raw": job.raw,
            "inflight": INFLIGHT,
            "stats": STATS,
            "queues": [queue for queue, _ in messages],
        }
        args = {
            "job_id": job_id,
            "doc": doc.to_json(),
            "vectors": vectors or b"",
            "article": json.dumps(article, ensure_ascii=False),
            "now": now_rfc3339(),
            "ttl": self.ttl,
            "step": step,
            "stall": self.stall,
            "stats": stats,
            "messages": [payload for _, payload in messages],
        }
        return text(self.run(SAVE_PREPARED, keys=keys, args=args))
