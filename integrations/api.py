"""Data API v1: read-only, versioned, for services with an OAuth2 client-credentials token (not sessions)."""

from django.contrib.auth import get_user_model
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer, extend_schema_view
from oauth2_provider.contrib.rest_framework import TokenHasScope
from rest_framework import generics, serializers

from catalog.models import App
from commerce.models import Purchase
from moderation.models import RewardEntry

from .oauth import ClientRateThrottle, ClientTokenAuthentication
from .pagination import CreatedCursorPagination, SyncCursorPagination

EMAIL_SCOPE = "users:email"


@extend_schema_serializer(component_name="DataApiApp")
class AppSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = App
        fields = [
            "id",
            "slug",
            "name",
            "category",
            "credit_price",
            "points_reward",
            "active",
            "created_at",
            "updated_at",
        ]


@extend_schema_serializer(component_name="DataApiPurchase")
class PurchaseSerializer(serializers.ModelSerializer):
    user_id = serializers.IntegerField(source="member_id")

    class Meta:
        model = Purchase
        fields = ["id", "user_id", "app_id", "price_paid", "created_at", "refunded_at", "updated_at"]


class UserSerializer(serializers.ModelSerializer):
    """No password, referral code, phone or other secret; the email only for tokens with `users:email`."""

    phone_verified = serializers.BooleanField(read_only=True)
    email = serializers.EmailField(required=False, help_text="Only with the users:email scope.")

    class Meta:
        model = get_user_model()
        fields = [
            "id",
            "first_name",
            "date_joined",
            "is_active",
            "is_staff",
            "phone_verified",
            "points_balance",
            "email",
        ]

    def to_representation(self, user):
        data = super().to_representation(user)
        if EMAIL_SCOPE not in self.context["scopes"]:
            data.pop("email")
        return data


class LedgerEntrySerializer(serializers.ModelSerializer):
    source_type = serializers.SerializerMethodField()

    class Meta:
        model = RewardEntry
        fields = ["id", "user_id", "amount", "kind", "source_type", "source_id", "balance_after", "created_at"]

    def get_source_type(self, entry) -> str | None:
        return f"{entry.source_type.app_label}.{entry.source_type.model}" if entry.source_type_id else None


def _since(name):
    return OpenApiParameter(name, OpenApiTypes.DATETIME, description="Only rows written at or after this time.")


CURSOR = OpenApiParameter("cursor", OpenApiTypes.STR, description="`next_cursor` of the previous page (signed).")
PAGE_SIZE = OpenApiParameter("page_size", OpenApiTypes.INT, description="1 to 1000 rows (default 100).")


class DataView(generics.ListAPIView):
    authentication_classes = [ClientTokenAuthentication]
    permission_classes = [TokenHasScope]
    throttle_classes = [ClientRateThrottle]
    pagination_class = SyncCursorPagination


@extend_schema_view(get=extend_schema(parameters=[_since("updated_since"), CURSOR, PAGE_SIZE], tags=["data v1"]))
class AppsView(DataView):
    """Apps, in the order they were last written (scope apps:read)."""

    required_scopes = ["apps:read"]
    serializer_class = AppSerializer
    queryset = App.objects.select_related("category")


@extend_schema_view(get=extend_schema(parameters=[_since("updated_since"), CURSOR, PAGE_SIZE], tags=["data v1"]))
class PurchasesView(DataView):
    """Purchases, in the order they were last written; a refund writes the purchase again (scope purchases:read)."""

    required_scopes = ["purchases:read"]
    serializer_class = PurchaseSerializer
    queryset = Purchase.objects.all()


class UsersPagination(CreatedCursorPagination):
    ordering_field = "date_joined"


@extend_schema_view(get=extend_schema(parameters=[_since("created_since"), CURSOR, PAGE_SIZE], tags=["data v1"]))
class UsersView(DataView):
    """Users by sign-up time (scope users:read; emails need users:email too)."""

    required_scopes = ["users:read"]
    serializer_class = UserSerializer
    pagination_class = UsersPagination
    queryset = get_user_model().objects.all()

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "scopes": set(self.request.auth.scope.split())}


@extend_schema_view(get=extend_schema(parameters=[_since("created_since"), CURSOR, PAGE_SIZE], tags=["data v1"]))
class LedgerView(DataView):
    """The points ledger, append-only, in the order entries were written (scope ledger:read)."""

    required_scopes = ["ledger:read"]
    serializer_class = LedgerEntrySerializer
    pagination_class = CreatedCursorPagination
    queryset = RewardEntry.objects.select_related("source_type")
