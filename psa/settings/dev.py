"""Local development: DEBUG on by default, e-mail printed to the console."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)

# The demo may move the product's clock forward (manage.py clock_advance): see psa/kernel/clock.py.
CLOCK_CONTROL = env.bool("CLOCK_CONTROL", default=True)
