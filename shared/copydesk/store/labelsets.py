"""Keep each tenant's named topic label sets in Redis, and every version a job still reads.

A label set taught with examples can be large (up to ``COPYDESK_MAX_LABEL_SET_BYTES``), so a
job names it instead of carrying it: the intake pins the set's current version to the job
(``pin``), the job stores the name and version, and the workers read that version's labels.
Versions are named by their content. Replacing or deleting a set drops its old version at
once, unless a job pinned it: then it stays for the job TTL, so a job queued before the change
finishes with the labels it was submitted with, and versions nobody used do not pile up.

Keys, per tenant and name (``{set}`` = ``copydesk:labelset:{tenant}:{name}``): ``{set}``
(hash: version, times, summary), ``{set}:v:{version}`` (the labels, JSON, deflated when
large), ``{set}:pins`` (the versions jobs named, by when one last did: trimmed to the job
TTL at each pin, and expiring that long after the last), and the tenant's index
``copydesk:labelsets:{tenant}`` (sorted set of names).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import redis

from copydesk.core import errors
from copydesk.core.ids import now_rfc3339
from copydesk.core.packing import pack_json, unpack_json
from copydesk.store.base import PREFIX
from copydesk.store.scripts import NOW, Script, run

MAX_LABEL_SETS = 100  # per tenant

# What both writers do with the version they move away from (``old``): keep it for the job
# TTL if a job pinned it within that time, else drop it.
_RETIRE = (
    NOW
    + """
local function retire(current)
  if current == '' then return end
  local pinned = redis.call('ZSCORE', K.pins, current)
  if pinned and tonumber(pinned) > now() - tonumber(A.ttl) then
    redis.call('EXPIRE', K.old, A.ttl)
  else
    redis.call('DEL', K.old)
  end
end
"""
)

# Point the name at a new version (key ``new``), unless another writer moved the name since
# the caller read it (``current``). Returns the outcome and the set's created_at.
_PUT = Script(
    keys=("set", "index", "pins", "old", "new"),
    args=("current", "version", "labels", "now", "summary", "ttl", "most", "name"),
    body=_RETIRE
    + """
local current = redis.call('HGET', K.set, 'version') or ''
if current ~= A.current then return {'moved', ''} end
if current == '' and redis.call('ZCARD', K.index) >= tonumber(A.most) then
  return {'full', ''}
end
redis.call('SET', K.new, A.labels)
if current ~= A.version then retire(current) end
if current == '' then redis.call('HSET', K.set, 'created_at', A.now) end
redis.call('HSET', K.set, 'version', A.version, 'updated_at', A.now, 'summary', A.summary)
redis.call('ZADD', K.index, 0, A.name)
local outcome = 'replaced'
if current == '' then outcome = 'created' end
return {outcome, redis.call('HGET', K.set, 'created_at')}
""",
)

# Forget the name, unless it moved since the caller read its version (``current``).
_DELETE = Script(
    keys=("set", "index", "pins", "old"),
    args=("current", "ttl", "name"),
    body=_RETIRE
    + """
local current = redis.call('HGET', K.set, 'version') or ''
if current ~= A.current then return 'moved' end
if current == '' then return 'missing' end
retire(current)
redis.call('DEL', K.set)
redis.call('ZREM', K.index, A.name)
return 'deleted'
""",
)

# Hand a job the current version and keep that version while the job may read it: a pin
# older than the job TTL protects nothing, so each pin drops those.
_PIN = Script(
    keys=("set", "pins"),
    args=("ttl",),
    body=NOW
    + """
local current = redis.call('HGET', K.set, 'version')
if not current then return false end
local at = now()
redis.call('ZADD', K.pins, at, current)
redis.call('ZREMRANGEBYSCORE', K.pins, '-inf', '(' .. (at - tonumber(A.ttl)))
redis.call('EXPIRE', K.pins, A.ttl)
return {current, redis.call('HGET', K.set, 'summary')}
""",
)


@dataclass(frozen=True, slots=True)
class Pinned:
    """The version a job reads, and how many examples its labels bring."""

    version: str
    examples: int


class LabelSetStore:
    """Each tenant's label sets; ``ttl_seconds`` is how long a version a job pinned stays."""

    def __init__(self, client: redis.Redis, *, ttl_seconds: int) -> None:
        self.redis = client
        self.ttl = ttl_seconds

    @staticmethod
    def key(tenant: str, name: str) -> str:
        return f"{PREFIX}:labelset:{tenant}:{name}"

    @staticmethod
    def index(tenant: str) -> str:
        return f"{PREFIX}:labelsets:{tenant}"

    def put(self, tenant: str, name: str, labels: list[Any]) -> dict[str, Any] | None:
        """Store ``labels`` (as validated and dumped) under ``name``; return the set's view
        with ``created`` (new name or not), or None when the tenant has as many sets as allowed."""
        blob = json.dumps(labels, ensure_ascii=False, sort_keys=True)
        version = hashlib.sha256(blob.encode()).hexdigest()[:16]
        key, summary, now = self.key(tenant, name), _summary(labels), now_rfc3339()
        for _ in range(5):  # another writer moved the name between our read and our write
            current = _text(self.redis.hget(key, "version"))
            found = run(
                self.redis,
                _PUT,
                keys={
                    "set": key,
                    "index": self.index(tenant),
                    "pins": f"{key}:pins",
                    "old": f"{key}:v:{current}",
                    "new": f"{key}:v:{version}",
                },
                args={
                    "current": current,
                    "version": version,
                    "labels": pack_json({"labels": labels}),
                    "now": now,
                    "summary": json.dumps(summary, ensure_ascii=False),
                    "ttl": self.ttl,
                    "most": MAX_LABEL_SETS,
                    "name": name,
                },
            )
            outcome, created_at = (_text(part) for part in found)
            if outcome == "full":
                return None
            if outcome != "moved":
                view = _view(name, version, summary, created_at=created_at, updated_at=now)
                return {**view, "created": outcome == "created"}
        raise errors.ServiceUnavailable(f"label set {name!r} kept changing; retry")

    def view(self, tenant: str, name: str) -> dict[str, Any] | None:
        """The set as listed: name, version, label names, example count, times."""
        fields = {_text(k): _text(v) for k, v in self.redis.hgetall(self.key(tenant, name)).items()}
        if "version" not in fields:
            return None
        return _view(
            name, fields["version"], json.loads(fields["summary"]),
            created_at=fields["created_at"], updated_at=fields["updated_at"],
        )  # fmt: skip

    def get(self, tenant: str, name: str) -> dict[str, Any] | None:
        """The set, with its labels in full (descriptions and examples) as ``definition``."""
        for _ in range(5):  # a PUT between the two reads may drop the version just read
            view = self.view(tenant, name)
            if view is None:
                return None
            labels = self.labels(tenant, name, view["version"])
            if labels is not None:
                return {**view, "definition": labels}
        raise errors.ServiceUnavailable(f"label set {name!r} kept changing; retry")

    def labels(self, tenant: str, name: str, version: str) -> list[Any] | None:
        """One version's labels, as a job that pinned it reads them; None once it is gone."""
        raw = self.redis.get(f"{self.key(tenant, name)}:v:{version}")
        return unpack_json(raw)["labels"] if raw is not None else None

    def pin(self, tenant: str, name: str) -> Pinned | None:
        """The current version, kept from now on for as long as a job may read it."""
        key = self.key(tenant, name)
        found = run(
            self.redis, _PIN, keys={"set": key, "pins": f"{key}:pins"}, args={"ttl": self.ttl}
        )
        if not found:
            return None
        version, summary = (_text(part) for part in found)
        return Pinned(version, json.loads(summary)["examples"])

    def list(self, tenant: str) -> list[dict[str, Any]]:
        names = [_text(name) for name in self.redis.zrange(self.index(tenant), 0, -1)]
        views = (self.view(tenant, name) for name in names)
        return [view for view in views if view is not None]

    def delete(self, tenant: str, name: str) -> bool:
        key = self.key(tenant, name)
        for _ in range(5):
            current = _text(self.redis.hget(key, "version"))
            keys = {
                "set": key,
                "index": self.index(tenant),
                "pins": f"{key}:pins",
                "old": f"{key}:v:{current}",
            }
            args = {"current": current, "ttl": self.ttl, "name": name}
            outcome = _text(run(self.redis, _DELETE, keys=keys, args=args))
            if outcome != "moved":
                return outcome == "deleted"
        raise errors.ServiceUnavailable(f"label set {name!r} kept changing; retry")


def _view(
    name: str, version: str, summary: dict[str, Any], *, created_at: str, updated_at: str
) -> dict[str, Any]:
    return {
        "name": name,
        "version": version,
        **summary,
        "created_at": created_at,
        "updated_at": updated_at,
        "links": {"self": f"/v1/label-sets/{name}"},
    }


def _summary(labels: list[Any]) -> dict[str, Any]:
    names = [label if isinstance(label, str) else label["label"] for label in labels]
    examples = sum(len(label.get("examples") or ()) for label in labels if isinstance(label, dict))
    return {"labels": names, "examples": examples}


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value
