"""``python -m psa.devtools {run,test,manage,services,seed}`` — called by ``dev.py``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

from psa.automation.demo import DEMO_LOGINS
from psa.devtools.services import ROOT, chromium_path, services
from psa.devtools.supervisor import Supervisor

PYTHON = sys.executable


def say(message: str) -> None:
    print(f"\033[1mdev\033[0m  {message}", flush=True)


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], env=env, cwd=ROOT, check=True)


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        # As the server will: a port in TIME_WAIT after the last run is free to reuse.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _pick_port() -> int:
    wanted = int(os.environ.get("PORT", "8000"))
    for port in range(wanted, wanted + 20):
        if _port_free(port):
            return port
    raise SystemExit(f"dev: no free port between {wanted} and {wanted + 19}")


def cmd_run(env: dict[str, str]) -> int:
    env.setdefault("DJANGO_SETTINGS_MODULE", "psa.settings.dev")
    port = _pick_port()
    url = f"http://127.0.0.1:{port}"
    env.setdefault("PUBLIC_BASE_URL", url)
    say("migrating the database")
    manage(env, "migrate", "--noinput", "-v", "0")
    say("loading demo data (idempotent)")
    manage(env, "seed_demo")
    say("collecting static files")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    bin_dir = os.path.dirname(PYTHON)
    sup = Supervisor(env=env, cwd=ROOT)
    sup.add(
        "web",
        [os.path.join(bin_dir, "gunicorn"), "psa.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", env.get("WEB_CONCURRENCY", "2"), "--access-logfile", "-",
         "--no-control-socket"],
    )  # fmt: skip
    sup.add(
        "worker",
        [os.path.join(bin_dir, "celery"), "-A", "psa", "worker", "--loglevel", "INFO",
         "--concurrency", env.get("CELERY_CONCURRENCY", "2")],
    )  # fmt: skip
    (ROOT / ".data").mkdir(exist_ok=True)  # beat's schedule file, even without embedded services
    sup.add(
        "beat",
        [os.path.join(bin_dir, "celery"), "-A", "psa", "beat", "--loglevel", "INFO",
         "--schedule", str(ROOT / ".data" / "celerybeat-schedule")],
    )  # fmt: skip
    sup.start()
    say("")
    say(f"PSA is running at \033[1m{url}/\033[0m  (Ctrl-C stops everything)")
    say("demo logins (password: demo)")

    for role, email in DEMO_LOGINS:
        say(f"  {role:<16} {email}")
    say("")
    return sup.wait()


def cmd_test(env: dict[str, str], args: list[str]) -> int:
    bin_dir = os.path.dirname(PYTHON)
    ruff = os.path.join(bin_dir, "ruff")
    # The floors of the house (.importlinter): an import pointing up a floor fails the run.
    lint_imports = [os.path.join(bin_dir, "lint-imports"), "--no-cache"]
    for step in ([ruff, "check", "."], [ruff, "format", "--check", "."], lint_imports):
        say(" ".join([os.path.basename(step[0]), *step[1:]]))
        if subprocess.call(step, cwd=ROOT, env=env):
            return 1
    if not chromium_path():
        say("warning: chromium not found; the browser tests will fail (apt-get install chromium)")
    say("pytest")
    # Always the test settings (importing psa sets a development default in os.environ).
    env["DJANGO_SETTINGS_MODULE"] = "psa.settings.test"
    env.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    return subprocess.call([PYTHON, "-m", "pytest", *args], cwd=ROOT, env=env)


def cmd_services() -> int:
    say("services are up; Ctrl-C stops them")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str]) -> int:
    command, rest = argv[0], argv[1:]
    # Ctrl-C, SIGTERM (CI, a process manager) and a closed terminal all unwind the same way,
    # so children and services are stopped. SIGINT is set explicitly because a shell that
    # starts us in the background leaves it ignored.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    try:
        with services(log=say) as urls:
            env = {**os.environ, **urls}
            if command == "run":
                return cmd_run(env)
            if command == "test":
                return cmd_test(env, rest)
            if command == "manage":
                env.setdefault("DJANGO_SETTINGS_MODULE", "psa.settings.dev")
                return subprocess.call([PYTHON, "manage.py", *rest], cwd=ROOT, env=env)
            if command == "seed":
                env.setdefault("DJANGO_SETTINGS_MODULE", "psa.settings.dev")
                manage(env, "migrate", "--noinput", "-v", "0")
                manage(env, "seed_demo")
                return 0
            return cmd_services()
    except KeyboardInterrupt:
        return 130
    except subprocess.CalledProcessError as exc:
        say(f"failed: {' '.join(map(str, exc.cmd))} (exit {exc.returncode})")
        return exc.returncode or 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
