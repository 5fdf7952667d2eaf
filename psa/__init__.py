"""The project package: settings, URLs, the Celery app and shared helpers."""

from psa.celery import app as celery_app

__all__ = ["celery_app"]
