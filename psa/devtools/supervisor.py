"""Run several child processes with their output interleaved and labelled.

Each child gets its own process group, so Ctrl-C reaches only the supervisor, which then stops
every group (SIGTERM, then SIGKILL after a grace period): gunicorn's and Celery's own worker
processes go with their parent, and no orphan survives. No pid files are written.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

COLOURS = itertools.cycle(["36", "35", "33", "32", "34"])
GRACE_SECONDS = 10


class Supervisor:
    def __init__(self, *, env: dict[str, str], cwd: Path) -> None:
        self.env = env
        self.cwd = cwd
        self.specs: list[tuple[str, list[str]]] = []
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self._print_lock = threading.Lock()
        self._width = 0

    def add(self, name: str, argv: list[str]) -> None:
        self.specs.append((name, argv))
        self._width = max(self._width, len(name))

    def start(self) -> None:
        for name, argv in self.specs:
            child = subprocess.Popen(
                argv,
                cwd=self.cwd,
                env={**self.env, "PYTHONUNBUFFERED": "1"},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self.children[name] = child
            label = f"\033[{next(COLOURS)}m{name:<{self._width}}\033[0m | "
            threading.Thread(target=self._pump, args=(child, label), daemon=True).start()

    def _pump(self, child: subprocess.Popen[bytes], label: str) -> None:
        assert child.stdout is not None
        for raw in child.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._print_lock:
                sys.stdout.write(label + line + "\n")
                sys.stdout.flush()

    def wait(self) -> int:
        """Block until Ctrl-C or until a child dies; then stop everything."""
        code = 0
        try:
            while True:
                for name, child in self.children.items():
                    if child.poll() is not None:
                        print(f"dev  {name} exited with {child.returncode}; stopping", flush=True)
                        code = child.returncode or 1
                        raise StopIteration
                time.sleep(0.3)
        except (KeyboardInterrupt, StopIteration):
            pass
        finally:
            self.stop()
        return code

    def stop(self) -> None:
        def signal_all(sig: int) -> None:
            for child in self.children.values():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.pid, sig)

        # A second Ctrl-C must not abandon the shutdown half-way.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("dev  stopping web, worker and beat…", flush=True)
        signal_all(signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        while time.monotonic() < deadline and any(c.poll() is None for c in self.children.values()):
            time.sleep(0.1)
        # Kill whatever is left in each group, including grandchildren that outlived a parent.
        signal_all(signal.SIGKILL)
        for child in self.children.values():
            child.wait()
        print("dev  all stopped", flush=True)
