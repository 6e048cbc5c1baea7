"""Counters (a balance, uses, budget spent) that only their service writes.

A model lists its counters in `counter_fields`. Then:
- a full-row `save()` of a row that exists writes every loaded field EXCEPT the counters, so an edit form, a password
  change or the Django admin that read the row before a service moved a counter can never write the old value back;
- `save(update_fields=[...])` naming a counter is refused unless the caller is inside `writing_counters()` (the
  owning service, which normally moves counters with a conditional `UPDATE` anyway);
- inserting a new row writes the counters' defaults as usual.

`backoffice/tests/test_counters.py` scans the repository for full `.save()` calls of these models outside their
service modules.
"""

import contextvars
from contextlib import contextmanager

from django.db import models

_service_writing = contextvars.ContextVar("service_writing_counters", default=False)


class CounterWriteRefused(RuntimeError):
    """A programming error: code outside the counter's service tried to save a counter."""


@contextmanager
def writing_counters():
    """Marks the owning service's code that may `save(update_fields=[<counter>])`."""
    token = _service_writing.set(True)
    try:
        yield
    finally:
        _service_writing.reset(token)


class CounterFieldsModel(models.Model):
    """Abstract base for a model with counters only its service writes (see the module docstring)."""

    counter_fields: tuple[str, ...] = ()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            named = sorted(set(update_fields) & set(self.counter_fields))
            if named and not _service_writing.get():
                raise CounterWriteRefused(
                    f"{type(self).__name__}.{', '.join(named)} is written only by its service (writing_counters())."
                )
        elif not args and not self._state.adding and not kwargs.get("force_insert") and self.pk is not None:
            deferred = self.get_deferred_fields()
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in self.counter_fields and field.attname not in deferred
            ]
        return super().save(*args, **kwargs)
