"""Moved to `backoffice.jobs` (one job mechanism for every app); kept so older imports keep working."""

from backoffice.jobs import DEFAULT_MAX_RETRIES, PermanentJobError, recorded_task, retry_delay

__all__ = ["DEFAULT_MAX_RETRIES", "PermanentJobError", "recorded_task", "retry_delay"]
