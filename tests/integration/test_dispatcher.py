"""The dispatcher process: Ctrl-C or SIGTERM stops it, withdrawn from presence, wherever the
signal finds its main thread."""

from __future__ import annotations

import os
import subprocess
import sys

from copydesk.store import presence

# The real ``python -m copydesk.deliver.dispatcher`` (its main()), with one thread more. Python
# runs a signal handler on the main thread between two bytecodes, wherever that thread is: on a
# busy box the signal can come just as the main thread has taken the stop Event's lock inside
# ``stopping.wait()``, before it gets the GIL back. The thread makes that moment certain: it
# holds the Event's lock (its Condition, as Event.wait holds it) until the main thread waits for
# it, lets go and sends SIGINT to the process while the main thread waits for the GIL.
DISPATCHER = """
import os, signal, sys, threading, time
from copydesk.deliver import dispatcher as module


class Interrupted(module.Dispatcher):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        threading.Thread(target=self.interrupt, daemon=True).start()

    def interrupt(self):
        time.sleep(1.0)  # running: the sweep thread beat once and waits 10 s for the next
        lock = self.stopping._cond
        lock.acquire()
        time.sleep(1.0)  # the main thread's next stopping.wait() waits for the lock
        lock.release()
        os.kill(os.getpid(), signal.SIGINT)


module.Dispatcher = Interrupted
sys.exit(module.main([]))
"""


def test_ctrl_c_stops_the_dispatcher_even_inside_its_stop_events_wait(
    redis_url: str, redis_client
) -> None:  # noqa: ANN001
    """A handler that called ``stopping.set()`` there waited for the lock its own thread held:
    the dispatcher hung until SIGKILL, its presence left live (``make run`` then counted a
    dispatcher that no longer ran)."""
    from conftest import SECRETS_KEY

    env = {key: value for key, value in os.environ.items() if not key.startswith("COPYDESK_")}
    env |= {"COPYDESK_REDIS_URL": redis_url, "COPYDESK_SECRETS_KEY": SECRETS_KEY}
    dispatcher = subprocess.Popen(
        [sys.executable, "-c", DISPATCHER],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _, stderr = dispatcher.communicate(timeout=20)  # it stops in about 3 s
    except subprocess.TimeoutExpired:
        dispatcher.kill()
        _, stderr = dispatcher.communicate(timeout=10)
    assert dispatcher.returncode == 0, stderr.decode(errors="replace")[-2000:]
    assert presence.dispatchers(presence.live(redis_client)) == []


# A sweep pass still running when the dispatcher stops (a slow Redis, a huge backlog): the
# sweep thread, which withdraws as it ends, is not done within the join's 5 s.
SLOW_SWEEP = """
import os, signal, sys, threading, time
from copydesk.deliver import dispatcher as module


class SlowSweep(module.Dispatcher):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sweeper.sweep = self.slow_sweep

    def slow_sweep(self):
        threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()
        time.sleep(30)  # far past the join's 5 s
        return {}


module.Dispatcher = SlowSweep
sys.exit(module.main([]))
"""


def test_a_dispatcher_stopped_mid_sweep_still_withdraws(redis_url: str, redis_client) -> None:  # noqa: ANN001
    """It used to exit with the sweep thread unjoined and its presence live for 30 s more."""
    from conftest import SECRETS_KEY

    env = {key: value for key, value in os.environ.items() if not key.startswith("COPYDESK_")}
    env |= {"COPYDESK_REDIS_URL": redis_url, "COPYDESK_SECRETS_KEY": SECRETS_KEY}
    dispatcher = subprocess.run(
        [sys.executable, "-c", SLOW_SWEEP], env=env, capture_output=True, timeout=25
    )
    assert dispatcher.returncode == 0, dispatcher.stderr.decode(errors="replace")[-2000:]
    assert presence.dispatchers(presence.live(redis_client)) == []
