"""Public read API of the catalog: active apps, filterable by category."""

from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from backoffice.cache import cached_versioned

from . import selectors
from .apps import CATALOG_CACHE_GROUP
from .serializers import AppSerializer

CATEGORY_PARAMETER = OpenApiParameter(
    "category",
    OpenApiTypes.STR,
    description="A category or subcategory slug: only apps filed under it.",
)


ERROR_RESPONSE = inline_serializer(
    "CatalogError",
    {
        "error": inline_serializer(
            "CatalogErrorBody",
            {
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "details": serializers.DictField(),
            },
        )
    },
)


@extend_schema_view(
    list=extend_schema(
        summary="List active apps",
        parameters=[CATEGORY_PARAMETER],
        responses={200: AppSerializer(many=True), 400: ERROR_RESPONSE, 404: ERROR_RESPONSE},
    ),
    retrieve=extend_schema(summary="One active app by slug", responses={200: AppSerializer, 404: ERROR_RESPONSE}),
)
class AppViewSet(viewsets.ReadOnlyModelViewSet):
    """Apps users can install to earn points. Inactive apps are not listed and answer 404."""

    serializer_class = AppSerializer
    permission_classes = [AllowAny]
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"

    def get_object(self):
        # Name the slug in the message: a typo in a URL is the usual cause.
        try:
            return super().get_object()
        except Http404:
            raise NotFound(f"No active app with slug '{self.kwargs['slug'][:100]}'.") from None

    def list(self, request, *args, **kwargs):
        """The page is shared by everyone (anonymous or not) until the catalog changes: its JSON is cached as the
        bytes sent (throttling and content negotiation still run per request; other formats, such as the browsable
        API, render the cached data). Bad input raises before anything is cached."""
        query = request.query_params
        parts = (request.scheme, request.get_host(), query.get("category"), query.get("page"))

        def build():
            return super(AppViewSet, self).list(request, *args, **kwargs).data

        renderer = request.accepted_renderer
        if not isinstance(renderer, JSONRenderer):
            return Response(cached_versioned("api-apps", [CATALOG_CACHE_GROUP], parts, build))
        media_type = request.accepted_media_type

        def render():
            return renderer.render(build(), media_type, self.get_renderer_context())

        content = cached_versioned("api-apps-json", [CATALOG_CACHE_GROUP], (*parts, media_type), render)
        return HttpResponse(content, content_type=renderer.media_type)

    def get_queryset(self):
        queryset = selectors.active_apps()
        if self.action == "list" and "category" in self.request.query_params:
            slug = self.request.query_params["category"].strip()
            if not selectors.category_exists(slug):
                raise serializers.ValidationError({"category": [f"No category with slug '{slug[:100]}'."]})
            queryset = selectors.apps_in_category(queryset, slug)
        return queryset
