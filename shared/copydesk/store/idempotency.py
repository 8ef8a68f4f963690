"""Remember what an Idempotency-Key made, so a retried POST never makes a second job."""

from __future__ import annotations

from dataclasses import dataclass

from copydesk.store.base import StoreBase, text


@dataclass(frozen=True, slots=True)
class Idempotency:
    """A client's Idempotency-Key, where it applies, and what the request said."""

    scope: str  # the tenant, once there are tenants
    key: str
    fingerprint: str  # a hash of the request body
    ttl: int


class IdempotencyRecords(StoreBase):
    def idempotent(self, idempotency: Idempotency) -> str | None:
        """What the Idempotency-Key already made ('fingerprint job-id'), if anything."""
        raw = self.redis.get(self.idempotency_key(idempotency.scope, idempotency.key))
        return text(raw) if raw is not None else None
