"""Store large JSON values in Redis deflated, and read them back either way."""

from __future__ import annotations

import json
import zlib
from typing import Any

COMPRESS_OVER = 32_768
"""Raw articles and label sets longer than this (bytes of JSON) wait in Redis deflated: an
HTML page of several MB shrinks about fivefold while its job is queued."""
_DEFLATED = b"zlib:"


def pack_json(value: dict[str, Any]) -> bytes:
    """A value as stored in Redis (a raw article until the prepare stage reads it, a label
    set): JSON, deflated if large."""
    raw = json.dumps(value, ensure_ascii=False).encode()
    return _DEFLATED + zlib.compress(raw, 1) if len(raw) > COMPRESS_OVER else raw


def unpack_json(raw: bytes) -> dict[str, Any]:
    return json.loads(zlib.decompress(raw[len(_DEFLATED) :]) if raw.startswith(_DEFLATED) else raw)
