"""Scripts with named keys and arguments, and the Lua pieces they share.

Every Redis script copydesk runs is a :class:`Script` declared beside the stage that runs it.
Names instead of positions: CREATE once took 18 positional arguments kept in step by hand, and
scripts built key names (the stats hash, a batch, an index's counter) that their callers never
declared, which a Redis that checks keys (Cluster, or a proxy) would refuse and no reader of
the call could see.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import redis

from copydesk.core.names import JOB_STATUSES

# the keys of a tenant's listings by status, as scripts name them (K.jobs_<status>)
STATUS_KEYS = tuple(f"jobs_{status}" for status in JOB_STATUSES)


class Script:
    """A Lua script whose keys and arguments have names, declared once beside its stage.

    The Lua reads ``K.<key>`` and ``A.<argument>``, bound by a prelude made here from the
    declared names; the caller passes dicts, laid out in the declared order, and a missing or
    unknown name fails before Redis is asked. A body that reads a name it did not declare, or
    declares one it never reads, fails at import. So the Python and the Lua cannot drift apart,
    and every key a script touches is one it was given (a test watches them run to hold that).

    A key name ending in ``?`` may be left out (the Lua sees nil); a name starting with ``*``,
    the last of its kind, takes a list (the Lua sees a table). A body may read ``K['prefix_'
    .. x]``: that counts as reading every declared name starting with the prefix.
    """

    def __init__(self, *, keys: tuple[str, ...], args: tuple[str, ...], body: str) -> None:
        self.keys = keys
        self.args = args
        self.body = body
        self.source = _prelude("K", "KEYS", keys) + _prelude("A", "ARGV", args) + body
        _check_names(self)

    def lay_out(
        self, keys: Mapping[str, Any], args: Mapping[str, Any]
    ) -> tuple[list[Any], list[Any]]:
        """``keys`` and ``args`` as KEYS and ARGV."""
        return _lay_out("key", self.keys, keys), _lay_out("argument", self.args, args)


def _bare(name: str) -> str:
    return name.strip("*?")


def _prelude(table: str, array: str, names: tuple[str, ...]) -> str:
    fields = []
    for i, name in enumerate(names, 1):
        if name.startswith("*"):
            fields.append(f"{_bare(name)} = {{unpack({array}, {i})}}")
        elif name.endswith("?"):  # left out: passed as '' (a KEYS slot cannot be empty)
            fields.append(f"{_bare(name)} = {array}[{i}] ~= '' and {array}[{i}] or nil")
        else:
            fields.append(f"{name} = {array}[{i}]")
    return f"local {table} = {{{', '.join(fields)}}}\n"


def _check_names(script: Script) -> None:
    for table, names in (("K", script.keys), ("A", script.args)):
        declared = {_bare(name) for name in names}
        if any(name.startswith("*") for name in names[:-1]) or len(declared) < len(names):
            raise ValueError(f"{names}: a list comes last, and each name once")
        read = set(re.findall(rf"\b{table}\.(\w+)", script.body))
        read |= set(re.findall(rf"\b{table}\['(\w+)'\]", script.body))
        prefixes = re.findall(rf"\b{table}\['(\w+)'\s*\.\.", script.body)
        read |= {name for name in declared if any(name.startswith(p) for p in prefixes)}
        if read != declared:
            raise ValueError(
                f"{table}: read but not declared {sorted(read - declared)}, "
                f"declared but not read {sorted(declared - read)}"
            )


def _lay_out(kind: str, names: tuple[str, ...], given: Mapping[str, Any]) -> list[Any]:
    unknown = set(given) - {_bare(name) for name in names}
    if unknown:
        raise TypeError(f"unknown script {kind}s: {', '.join(sorted(unknown))}")
    laid: list[Any] = []
    for name in names:
        value = given.get(_bare(name))
        if value is None and not name.endswith("?"):
            raise TypeError(f"missing script {kind}: {_bare(name)}")
        if name.startswith("*"):
            laid.extend(value)
        else:
            laid.append("" if value is None else value)
    return laid


def run(
    client: redis.Redis, script: Script, *, keys: Mapping[str, Any], args: Mapping[str, Any]
) -> Any:
    """Run ``script`` on ``client`` by its digest (EVALSHA, loading it when Redis lacks it)."""
    return client.register_script(script.source)(*script.lay_out(keys, args))


# Lua every script may call, each piece prepended to the scripts that use it.
# The server's clock: every host agrees, whatever its own clock says.
NOW = """
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) + tonumber(t[2]) / 1000000
end
-- in whole microseconds, as a string (Lua would print a number this large as 1.7e+15)
local function now_us()
  local t = redis.call('TIME')
  return string.format('%.0f', tonumber(t[1]) * 1000000 + tonumber(t[2]))
end
"""
# Tell listeners: published on the job's channel, and appended to its event stream (what
# GET /v1/jobs/{id}/events reads, resuming from any entry), which lives as long as the job.
EMIT = """
local function emit(event)
  local payload = cjson.encode(event)
  redis.call('PUBLISH', K.channel, payload)
  redis.call('XADD', K.stream, 'MAXLEN', '~', 200, '*', 'event', payload)
  local ttl = redis.call('TTL', K.job)
  if ttl > 0 then redis.call('EXPIRE', K.stream, ttl) end
end
"""
# A webhook of a job (member: its id) or a batch (member: 'batch:<id>') is due at once.
DUE_NOW = """
local function due_now(hash, member)
  local at = now()
  redis.call('ZADD', K.due, at, member)
  redis.call('HSET', hash, 'webhook_state', 'pending', 'webhook_next_at', at,
    'webhook_attempts', 0)
end
"""
# A tenant's listings (all its jobs, by status, by ref) hold job ids scored by when each was
# created, in microseconds. A job lives at most A.listed_seconds (twice the job TTL: it may
# end just before its TTL runs out, which renews it), so each write drops what is older, 100
# at a time (a write after a burst never stalls Redis), and the listing expires that long
# after its last write.
LIST = """
local function list_job(index, score)
  redis.call('ZADD', index, score, A.job_id)
  local oldest = tonumber(now_us()) - tonumber(A.listed_seconds) * 1000000
  local stale = redis.call('ZCOUNT', index, '-inf', '(' .. string.format('%.0f', oldest))
  if stale > 0 then redis.call('ZREMRANGEBYRANK', index, 0, math.min(stale, 100) - 1) end
  redis.call('EXPIRE', index, A.listed_seconds)
end
"""
# The job's listing by status follows its status, under the score it was created with (a job
# stored before there were listings by status has none, and stays out of them).
RELIST = (
    LIST
    + """
local function relist(old, new)
  local score = redis.call('HGET', K.job, 'listed')
  if not score or old == new then return end
  redis.call('ZREM', K['jobs_' .. old], A.job_id)
  list_job(K['jobs_' .. new], score)
end
"""
)
