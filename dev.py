#!/usr/bin/env python3
"""The two commands a newcomer needs, with nothing installed but Python.

    python3 dev.py run      set up and run the product (web, Celery worker, Celery beat)
    python3 dev.py test     set up and run ruff and the whole test suite

Also: ``python3 dev.py manage <args>`` (manage.py with the services up) and
``python3 dev.py services`` (start PostgreSQL/Redis only, until Ctrl-C).

This file uses the standard library only: it finds a Python >= 3.11, creates ``.venv``,
installs the project into it when ``pyproject.toml`` changed, then hands over to
``psa.devtools`` inside the virtualenv, which starts the embedded services when
DATABASE_URL / REDIS_URL are unset.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
MIN_PYTHON = (3, 11)
COMMANDS = {"run", "test", "manage", "services", "seed"}


def _python_version(executable: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [executable, "-c", "import sys; print(sys.version_info[0], sys.version_info[1])"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    return int(out[0]), int(out[1])


def find_python() -> str:
    """The newest Python >= 3.11 we can find, preferring the one running this script."""
    if sys.version_info[:2] >= MIN_PYTHON:
        return sys.executable
    for name in ("python3.14", "python3.13", "python3.12", "python3.11", "python3"):
        path = shutil.which(name)
        if path and (_python_version(path) or (0, 0)) >= MIN_PYTHON:
            return path
    sys.exit("dev.py: Python >= 3.11 is required and none was found on PATH.")


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv() -> Path:
    python = venv_python()
    if not python.exists() or (_python_version(str(python)) or (0, 0)) < MIN_PYTHON:
        print(f"dev.py: creating {VENV.name}/ with {find_python()}", flush=True)
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([find_python(), "-m", "venv", str(VENV)], check=True)
    # Reinstall only when the dependency declaration changed: a stamp holds its hash.
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".installed-{digest}"
    if not stamp.exists():
        print("dev.py: installing dependencies into .venv (first run takes a minute)", flush=True)
        pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
        subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "install", "--quiet", "-e", f"{ROOT}[dev]"], check=True)
        for old in VENV.glob(".installed-*"):
            old.unlink()
        stamp.touch()
    return python


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    python = ensure_venv()
    os.chdir(ROOT)
    args = [str(python), "-m", "psa.devtools", *argv]
    if os.name == "nt":
        return subprocess.call(args)
    # Replace this process so Ctrl-C reaches the supervisor directly.
    os.execv(str(python), args)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
