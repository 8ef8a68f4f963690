"""Keep each tenant's named topic label sets in Redis, and every version a job still reads.

A label set taught with examples can be large (up to ``COPYDESK_MAX_LABEL_SET_BYTES``), so a
job names it instead of carrying it: the intake pins the set's current version to the job
(``pin``), the job stores the name and version, and the workers read that version's labels.
Versions are named by their content. Replacing or deleting a set drops its old version at
once, unless a job pinned it: then it stays for the job TTL, so a job queued before the change
finishes with the labels it was submitted with, and versions nobody used do not pile up.

Keys, per tenant and name (``{set}`` = ``copydesk:labelset:{tenant}:{name}``): ``{set}``
(hash: version, times, summary), ``{set}:v:{version}`` (the labels, JSON, deflated when
large), ``{set}:pinned`` (the versions jobs named), and the tenant's index
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

MAX_LABEL_SETS = 100  # per tenant

# What both writers do with the version they move away from: keep it for the job TTL if a
# job pinned it, else drop it. KEYS: hash, index, pinned set, old version.
_RETIRE = """
local function retire(current, ttl)
  if current == '' then return end
  if redis.call('SISMEMBER', KEYS[3], current) == 1 then
    redis.call('EXPIRE', KEYS[4], ttl)
  else
    redis.call('DEL', KEYS[4])
  end
end
"""

# Point the name at a new version (KEYS[5]), unless another writer moved the name since the
# caller read it (ARGV[1]). Returns the outcome and the set's created_at.
_PUT = (
    _RETIRE
    + """
local current = redis.call('HGET', KEYS[1], 'version') or ''
if current ~= ARGV[1] then return {'moved', ''} end
if current == '' and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[7]) then
  return {'full', ''}
end
redis.call('SET', KEYS[5], ARGV[3])
if current ~= ARGV[2] then retire(current, ARGV[6]) end
if current == '' then redis.call('HSET', KEYS[1], 'created_at', ARGV[4]) end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'updated_at', ARGV[4], 'summary', ARGV[5])
redis.call('ZADD', KEYS[2], 0, ARGV[8])
local outcome = 'replaced'
if current == '' then outcome = 'created' end
return {outcome, redis.call('HGET', KEYS[1], 'created_at')}
"""
)

# Forget the name, unless it moved since the caller read its version (ARGV[1]).
_DELETE = (
    _RETIRE
    + """
local current = redis.call('HGET', KEYS[1], 'version') or ''
if current ~= ARGV[1] then return 'moved' end
if current == '' then return 'missing' end
retire(current, ARGV[2])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[3])
return 'deleted'
"""
)

# Hand a job the current version and keep that version while the job may read it.
_PIN = """
local current = redis.call('HGET', KEYS[1], 'version')
if not current then return false end
redis.call('SADD', KEYS[2], current)
redis.call('EXPIRE', KEYS[2], ARGV[1])
return {current, redis.call('HGET', KEYS[1], 'summary')}
"""


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
        self._put = client.register_script(_PUT)
        self._delete = client.register_script(_DELETE)
        self._pin = client.register_script(_PIN)

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
            outcome, created_at = (
                _text(part)
                for part in self._put(
                    keys=[
                        key,
                        self.index(tenant),
                        f"{key}:pinned",
                        f"{key}:v:{current}",
                        f"{key}:v:{version}",
                    ],
                    args=[
                        current,
                        version,
                        pack_json({"labels": labels}),
                        now,
                        json.dumps(summary, ensure_ascii=False),
                        self.ttl,
                        MAX_LABEL_SETS,
                        name,
                    ],
                )  # fmt: skip
            )
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
        found = self._pin(keys=[key, f"{key}:pinned"], args=[self.ttl])
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
            outcome = _text(
                self._delete(
                    keys=[key, self.index(tenant), f"{key}:pinned", f"{key}:v:{current}"],
                    args=[current, self.ttl, name],
                )
            )
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
