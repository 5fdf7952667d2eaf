"""The dev tools' shared-server bookkeeping: the last live holder stops a server."""

import os
import subprocess
import sys

from psa.devtools.services import Handles


def test_handles_prune_dead_holders(tmp_path):
    handles = Handles(tmp_path / "h.json")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    handles.add(dead.pid)  # a holder that was kill -9'd and never removed itself
    handles.add(os.getpid())
    assert handles.live() == [os.getpid()]
    # When this process leaves, nobody live remains: it must stop the server.
    assert handles.remove(os.getpid()) == []


def test_another_live_holder_keeps_the_server(tmp_path):
    handles = Handles(tmp_path / "h.json")
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        handles.add(other.pid)
        handles.add(os.getpid())
        assert handles.remove(os.getpid()) == [other.pid]
    finally:
        other.kill()
        other.wait()
