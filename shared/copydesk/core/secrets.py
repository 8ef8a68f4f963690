"""Keep webhook signing secrets encrypted wherever they are stored (Redis, its AOF, backups).

Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) with the key(s) in
``COPYDESK_SECRETS_KEY``: several comma-separated keys rotate, the first encrypts and any
decrypts. Only the intake (which seals) and the webhook worker (which opens) need the key;
a reader of Redis sees ``fernet:`` tokens.
"""

from __future__ import annotations

from typing import Any

PREFIX = "fernet:"


class SecretBox:
    """Seal and open short secrets with one or more Fernet keys."""

    def __init__(self, keys: str) -> None:
        from cryptography.fernet import Fernet, MultiFernet

        self._fernet: Any = MultiFernet([Fernet(k.strip()) for k in keys.split(",") if k.strip()])

    def seal(self, secret: str) -> str:
        return PREFIX + self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        if not sealed.startswith(PREFIX):
            raise ValueError("not a sealed secret")
        return self._fernet.decrypt(sealed[len(PREFIX) :].encode()).decode()


def new_key() -> str:
    """Return a new Fernet key (url-safe base64 of 32 random bytes)."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def check_keys(keys: str) -> None:
    """Raise ValueError unless ``keys`` is one or more comma-separated Fernet keys."""
    try:
        SecretBox(keys)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            "must be Fernet keys: url-safe base64 of 32 bytes, comma-separated"
        ) from exc
