"""Keep each tenant's named topic label sets in Redis, and every version a job still reads.

A label set taught with examples can be large (up to 200 example articles), so a job names
it instead of carrying it: the intake resolves the name to the set's current version, the
job stores the name and version, and the workers read that version's labels. Versions are
named by their content; replacing or deleting a set keeps the old version for the job TTL,
so a job queued before the change finishes with the labels it was submitted with.

Keys, per tenant and name: ``copydesk:labelset:{tenant}:{name}`` (hash: version, times,
summary), ``...:{name}:v:{version}`` (the labels, JSON, deflated when large), and the
tenant's index ``copydesk:labelsets:{tenant}`` (sorted set of names).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import redis

from copydesk.core.store import PREFIX, now_rfc3339, pack_article, unpack_article

MAX_LABEL_SETS = 100  # per tenant

# Write a version and point the name at it, unless another writer moved the name since the
# caller read it (``expected``); the version it replaces stays for the job TTL.
_PUT = """
local current = redis.call('HGET', KEYS[1], 'version') or ''
if current ~= ARGV[1] then return 'moved' end
if current == '' and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[7]) then return 'full' end
redis.call('SET', KEYS[3], ARGV[3])
if current ~= '' and current ~= ARGV[2] then redis.call('EXPIRE', KEYS[4], ARGV[6]) end
if current == '' then redis.call('HSET', KEYS[1], 'created_at', ARGV[4]) end
redis.call('HSET', KEYS[1], 'version', ARGV[2], 'updated_at', ARGV[4], 'summary', ARGV[5])
redis.call('ZADD', KEYS[2], 0, ARGV[8])
if current == '' then return 'created' end
return 'replaced'
"""

# Forget the name; its last version stays for the job TTL (jobs may still read it).
_DELETE = """
local current = redis.call('HGET', KEYS[1], 'version')
if not current then return 0 end
redis.call('EXPIRE', KEYS[3] .. current, ARGV[1])
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
"""


@dataclass(frozen=True, slots=True)
class Saved:
    """What a PUT did: ``created``, ``replaced`` or ``full`` (the tenant has too many sets)."""

    outcome: str
    view: dict[str, Any] | None


class LabelSetStore:
    """Each tenant's label sets; ``ttl_seconds`` is how long a replaced version stays."""

    def __init__(self, client: redis.Redis, *, ttl_seconds: int) -> None:
        self.redis = client
        self.ttl = ttl_seconds
        self._put = client.register_script(_PUT)
        self._delete = client.register_script(_DELETE)

    @staticmethod
    def key(tenant: str, name: str) -> str:
        return f"{PREFIX}:labelset:{tenant}:{name}"

    @staticmethod
    def index(tenant: str) -> str:
        return f"{PREFIX}:labelsets:{tenant}"

    def put(self, tenant: str, name: str, labels: list[Any]) -> Saved:
        """Store ``labels`` (as validated and dumped) under ``name`` as a new version."""
        blob = json.dumps(labels, ensure_ascii=False, sort_keys=True)
        version = hashlib.sha256(blob.encode()).hexdigest()[:16]
        key = self.key(tenant, name)
        summary = json.dumps(_summary(labels), ensure_ascii=False)
        for _ in range(5):  # another writer moved the name between the read and the write
            current = _text(self.redis.hget(key, "version"))
            outcome = _text(
                self._put(
                    keys=[key, self.index(tenant), f"{key}:v:{version}", f"{key}:v:{current}"],
                    args=[
                        current,
                        version,
                        pack_article({"labels": labels}),
                        now_rfc3339(),
                        summary,
                        self.ttl,
                        MAX_LABEL_SETS,
                        name,
                    ],
                )  # fmt: skip
            )
            if outcome != "moved":
                return Saved(outcome, self.view(tenant, name) if outcome != "full" else None)
        raise RuntimeError(f"label set {name!r} kept changing while it was written")

    def view(self, tenant: str, name: str) -> dict[str, Any] | None:
        """The set as listed: name, version, label names, example count, times."""
        fields = {_text(k): _text(v) for k, v in self.redis.hgetall(self.key(tenant, name)).items()}
        if "version" not in fields:
            return None
        return {
            "name": name,
            "version": fields["version"],
            **json.loads(fields["summary"]),
            "created_at": fields["created_at"],
            "updated_at": fields["updated_at"],
            "links": {"self": f"/v1/label-sets/{name}"},
        }

    def get(self, tenant: str, name: str) -> dict[str, Any] | None:
        """The set, with its labels in full (descriptions and examples) as ``definition``."""
        view = self.view(tenant, name)
        labels = self.labels(tenant, name, view["version"]) if view else None
        if view is None or labels is None:
            return None
        return {**view, "definition": labels}

    def labels(self, tenant: str, name: str, version: str) -> list[Any] | None:
        """One version's labels, as a job that named it reads them; None once it expired."""
        raw = self.redis.get(f"{self.key(tenant, name)}:v:{version}")
        return unpack_article(raw)["labels"] if raw is not None else None

    def current(self, tenant: str, name: str) -> str | None:
        """The version a job submitted now would read."""
        return _text(self.redis.hget(self.key(tenant, name), "version")) or None

    def names(self, tenant: str) -> list[str]:
        return [_text(name) for name in self.redis.zrange(self.index(tenant), 0, -1)]

    def list(self, tenant: str) -> list[dict[str, Any]]:
        views = (self.view(tenant, name) for name in self.names(tenant))
        return [view for view in views if view is not None]

    def delete(self, tenant: str, name: str) -> bool:
        key = self.key(tenant, name)
        return bool(
            self._delete(keys=[key, self.index(tenant), f"{key}:v:"], args=[self.ttl, name])
        )


def _summary(labels: list[Any]) -> dict[str, Any]:
    names = [label if isinstance(label, str) else label["label"] for label in labels]
    examples = sum(len(label.get("examples") or ()) for label in labels if isinstance(label, dict))
    return {"labels": names, "examples": examples}


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value
