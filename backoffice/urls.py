from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from wagtail.admin import urls as wagtailadmin_urls

from backoffice import media_views

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("django-admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: no inline script under the CSP.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("catalog.api_urls")),
    path("api/", include("growth.api_urls")),
    path("api/", include("commerce.api_urls")),
    path("api/", include("reporting.api_urls")),
    path("api/", include("integrations.api_urls")),
    path("oauth/", include("integrations.oauth_urls")),
    # Private files (proof screenshots, product upload files): only through this authorised view.
    path("private-media/<path:name>", media_views.private_media, name="private_media"),
    path("", include("commerce.urls")),
    path("", include("stores.urls")),
    path("", include("growth.urls")),
]

if settings.MEDIA_STORAGE == "local":
    # Public media from local disk, in production too (with S3 the bucket serves it).
    prefix = settings.MEDIA_URL.lstrip("/")
    urlpatterns.insert(0, re_path(rf"^{prefix}(?P<path>.+)$", media_views.public_media, name="public_media"))
