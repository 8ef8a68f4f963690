"""The ``copydesk`` command.

- ``copydesk submit FILE... [--wait]`` sends articles to a running copydesk (``--url`` or
  ``COPYDESK_URL``, key ``--api-key`` or ``COPYDESK_API_KEY``): one article as a job, several
  as batches. It prints ``ID<TAB>SOURCE`` per job, or with ``--wait`` each finished job as a
  JSON line with its ``source`` (``path`` or ``path:line``), with a progress bar on stderr.
- ``--labels FILE`` (submit and analyze) gives every article whose topics name no labels (nor
  a label set) of their own these topic labels: a JSON list of names or ``{"label",
  "description", "examples"}`` objects, so a label set taught with examples is written once.
- ``copydesk get ID`` prints a job; ``copydesk watch ID`` prints its live events until it ends.
- ``copydesk analyze --local FILE...`` analyses without a server (:mod:`copydesk.cli.local`).

All but ``analyze --local`` use :mod:`copydesk.client`, and need no worker dependencies.

Every error is one line on stderr, never a traceback, and the exit code says which kind it
was (``EXIT_CODES``), so scripts can tell a bad article from a server that is down.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.parse
from pathlib import Path
from typing import NoReturn

from copydesk.cli import local, remote
from copydesk.cli.output import say
from copydesk.cli.sources import LABELS_HELP, labels_file
from copydesk.client import DEFAULT_URL, ApiError, Unreachable

COMMANDS = {
    "analyze": local.analyze,
    "submit": remote.submit,
    "get": remote.get,
    "watch": remote.watch,
}

OK, FAILED, USAGE, UNREACHABLE, BUG = 0, 1, 2, 3, 4
INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command Ctrl-C stopped
BROKEN_PIPE = 141  # 128 + SIGPIPE, as `cat big | head` reports for cat
EXIT_CODES = f"""exit codes:
  {OK}    done: every article sent (or analysed) and, with --wait, every job succeeded
  {FAILED}    an article was refused (named path:line on stderr; the rest were sent), a job
       did not succeed, or the server answered an error (its code is named)
  {USAGE}    the command line is wrong (an option, --url, a --labels file)
  {UNREACHABLE}    the server could not be reached (tried {1 + remote.RETRIES} times over about 4 s)
  {BUG}    an unexpected error inside copydesk (run with --traceback and report it)
  {INTERRUPTED}  interrupted (Ctrl-C)
  {BROKEN_PIPE}  the reader of stdout went away (copydesk ... | head): stopped quietly
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """Say what is wrong in one line (argparse prints the whole usage first)."""
        say(f"{message} (see '{self.prog} --help')")
        raise SystemExit(USAGE)


def main(argv: list[str] | None = None) -> int:
    """Run the command; return its exit code (``EXIT_CODES``) rather than raise."""
    traceback = False
    try:
        args = _parser().parse_args(argv)
        traceback = args.traceback
        if args.command != "analyze":
            args.url = _http_url(args.url)
        code = COMMANDS[args.command](args)
        sys.stdout.flush()  # here, where a reader that has gone is caught, not at exit
        return code
    except _UsageError as error:
        say(str(error))
        return USAGE
    except BrokenPipeError:
        # stdout's reader has gone (`| head`): Python's recipe, so that the final flush at
        # exit does not raise again (https://docs.python.org/3/library/signal.html#note-on-sigpipe)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return BROKEN_PIPE
    except KeyboardInterrupt:
        say("interrupted")
        return INTERRUPTED
    except Unreachable as error:
        say(str(error))
        return UNREACHABLE
    except ApiError as error:
        say(str(error))
        return FAILED
    except TimeoutError as error:  # a job that did not end in time (Client.wait)
        say(str(error))
        return FAILED
    except Exception as error:
        if traceback:
            raise
        say(f"unexpected error: {type(error).__name__}: {error} (run with --traceback)")
        return BUG


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="copydesk",
        description="copydesk text analytics",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--traceback", action="store_true", help="show where an error arose")
    commands = parser.add_subparsers(dest="command", required=True)
    analyze = commands.add_parser(
        "analyze", help="analyse articles", description=local.__doc__, epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    analyze.add_argument("--local", action="store_true", required=True, help="run in-process")
    analyze.add_argument("files", nargs="+", type=Path, metavar="FILE")
    analyze.add_argument("--analyses", help="comma-separated (default: all three)")
    analyze.add_argument("--labels", type=labels_file, help=LABELS_HELP)
    analyze.add_argument("--processes", type=int, default=1, help="worker processes (default 1)")
    analyze.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    analyze.add_argument("--stats", type=Path, help="also write the timing summary as JSON here")
    submit = commands.add_parser("submit", help="send articles to a running copydesk")
    submit.add_argument("files", nargs="+", type=Path, metavar="FILE")
    submit.add_argument("--wait", action="store_true", help="print the finished jobs")
    submit.add_argument("--analyses", help="comma-separated (default: all three)")
    submit.add_argument("--labels", type=labels_file, help=LABELS_HELP)
    submit.add_argument("--priority", choices=["high", "normal", "low"])
    submit.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    get = commands.add_parser("get", help="print a job")
    get.add_argument("job_id", metavar="ID")
    watch = commands.add_parser("watch", help="follow a job's events until it ends")
    watch.add_argument("job_id", metavar="ID")
    for command in (submit, get, watch):
        command.add_argument("--url", help="copydesk's base URL (default: $COPYDESK_URL or "
                             f"{DEFAULT_URL})")  # fmt: skip
        command.add_argument("--api-key", help="API key (default: $COPYDESK_API_KEY)")
        command.epilog, command.formatter_class = EXIT_CODES, argparse.RawDescriptionHelpFormatter
    return parser


class _UsageError(Exception):
    """A command line that cannot work, found after argparse has accepted it."""


def _http_url(given: str | None) -> str:
    url = given or os.environ.get("COPYDESK_URL") or DEFAULT_URL
    try:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme in ("http", "https") and parts.hostname and parts.port != 0:
            return url
    except ValueError:  # a port that is not a number, a broken [IPv6] address
        pass
    named = "--url" if given else "$COPYDESK_URL"
    raise _UsageError(f"{named} {url!r} is not an http(s) URL such as {DEFAULT_URL}")
