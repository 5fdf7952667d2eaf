"""Liveness and readiness checks."""

from __future__ import annotations

from typing import Any

import psycopg
import redis
from django.conf import settings

TIMEOUT_SECONDS = 2


def check_postgres(database: dict[str, Any] | None = None) -> str | None:
    """None if PostgreSQL answers a query on a fresh connection, else the reason."""
    db = database or settings.DATABASES["default"]
    params = {
        "dbname": db.get("NAME") or "postgres",
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": db.get("PORT") or None,
        "connect_timeout": TIMEOUT_SECONDS,
    }
    try:
        with psycopg.connect(**{k: v for k, v in params.items() if v is not None}) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc) else ''}"
    return None


def check_redis(url: str | None = None) -> str | None:
    """None if Redis answers PING, else the reason."""
    client = redis.Redis.from_url(
        url or settings.CACHES["default"]["LOCATION"],
        socket_connect_timeout=TIMEOUT_SECONDS,
        socket_timeout=TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        client.close()
    return None
