"""API keys: each names a tenant, whose jobs no other tenant can see.

Keys come from ``COPYDESK_API_KEYS`` (``name:key,name:key``) and are kept only as SHA-256
digests; a presented key is hashed and compared with every digest in constant time, so
neither the keys nor a timing side channel reveal anything. With no keys configured every
request is the tenant ``public`` (local use; settings refuse that on a non-loopback address
unless ``COPYDESK_ALLOW_OPEN_ACCESS`` says otherwise).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from copydesk.core.names import OPEN_TENANT

__all__ = ["OPEN_TENANT", "Keyring"]


@dataclass(frozen=True, slots=True)
class Keyring:
    digests: tuple[tuple[bytes, str], ...]  # (sha256 of a key, its tenant)

    @classmethod
    def parse(cls, spec: str | None) -> Keyring:
        """Read ``name:key,name:key`` (already validated by the settings)."""
        pairs = []
        for item in (spec or "").split(","):
            if item.strip():
                name, _, key = item.strip().partition(":")
                pairs.append((hashlib.sha256(key.encode()).digest(), name))
        return cls(tuple(pairs))

    @property
    def enabled(self) -> bool:
        return bool(self.digests)

    def tenant_for(self, authorization: str | None) -> str | None:
        """The tenant of ``Authorization: Bearer <key>``, or None for a missing or wrong key."""
        scheme, _, presented = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not presented.strip():
            return None
        digest = hashlib.sha256(presented.strip().encode()).digest()
        found = None
        for known, tenant in self.digests:  # every digest, whatever matched: constant time
            if hmac.compare_digest(known, digest):
                found = tenant
        return found
