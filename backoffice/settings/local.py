"""Embedded defaults for `make run` and tests: no environment needed."""

from .base import *  # noqa: F403

# Serve static files straight from the apps' folders: no collectstatic needed for `make run`.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
