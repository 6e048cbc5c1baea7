"""Where uploaded files live.

Two storages, both chosen by `MEDIA_STORAGE` (settings/base.py):
- `default`, public media (app images and thumbnails): anyone may fetch them by URL.
- `private`, files only their owner and authorised staff may see (proof screenshots, product upload files).
  Their `url()` never points at the file itself: it names the authorised view `backoffice.media_views.private_media`,
  which checks the viewer, then streams the file (local disk) or redirects to a short-lived signed URL (S3).
"""

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.urls import reverse
from django.utils.functional import LazyObject, empty
from storages.backends.s3 import S3Storage


class PrivateStorage(LazyObject):
    """STORAGES["private"], looked up on first use (like Django's default_storage) and again when settings change."""

    def _setup(self):
        self._wrapped = storages["private"]


_private_storage = PrivateStorage()


def private_storage():
    """The `storage=` of private file fields (a callable, so migrations do not freeze the backend)."""
    return _private_storage


@receiver(setting_changed)
def _forget_private_storage(*, setting, **kwargs):
    if setting == "STORAGES":
        _private_storage._wrapped = empty


class PrivateUrlMixin:
    def url(self, name, *args, **kwargs):
        return reverse("private_media", args=[name])


class PrivateFileSystemStorage(PrivateUrlMixin, FileSystemStorage):
    """Private files on local disk, under PRIVATE_MEDIA_ROOT: outside MEDIA_ROOT, so no public path reaches them."""

    def __init__(self, location=None, **kwargs):
        super().__init__(location=location or settings.PRIVATE_MEDIA_ROOT, base_url=None, **kwargs)

    def signed_url(self, name):
        return None  # no signed links on disk: the authorised view streams the file itself


class PrivateS3Storage(PrivateUrlMixin, S3Storage):
    """Private objects (ACL private) in the bucket; only the authorised view hands out a signed link to one."""

    def signed_url(self, name):
        return S3Storage.url(self, name, expire=settings.PRIVATE_MEDIA_URL_SECONDS)


def move_to_private_storage(model, field_name):
    """For a data migration: files of `model.field_name` saved before it became private move from the public
    storage to the private one (same name), so existing screenshots stop being reachable by a public URL."""

    def forwards(apps, schema_editor):
        public, private = storages["default"], storages["private"]
        names = apps.get_model(*model.split(".")).objects.exclude(**{field_name: ""}).values_list(field_name, flat=True)
        for name in names.iterator():
            if public.exists(name) and not private.exists(name):
                with public.open(name, "rb") as stored:
                    private.save(name, stored)
                public.delete(name)

    return forwards
