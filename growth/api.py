"""The campaign API: members see available campaigns and redeem them; marketers manage campaigns."""

from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.permissions import DjangoModelPermissions, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.api import ERROR, KeyedWriteView, keyed_response, keyed_write_schema
from backoffice.api_input import StrictPrimaryKeyRelatedField, idempotency_key
from catalog.selectors import active_apps

from . import campaigns
from .models import Campaign, Redemption


class CartQuerySerializer(serializers.Serializer):
    cart_total = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    app = StrictPrimaryKeyRelatedField(queryset=active_apps(), required=False, allow_null=True)


class RedeemRequestSerializer(serializers.Serializer):
    cart_total = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        help_text="Required unless the cart is an app with a credit price (then it is that price).",
    )
    app = serializers.PrimaryKeyRelatedField(queryset=active_apps(), required=False, allow_null=True)
    cart_reference = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="The purchase or order this cart is; defaults to app:<id> when an app is given.",
    )
    expected_points_cost = serializers.IntegerField(
        min_value=0, help_text="The points cost the member was shown; a changed cost is refused, not charged."
    )


class CampaignSerializer(serializers.ModelSerializer):
    discount = serializers.SerializerMethodField(help_text="The discount this cart would get.")

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "description",
            "discount_kind",
            "discount_value",
            "discount",
            "min_cart_total",
            "max_cart_total",
            "stackable",
            "points_cost",
            "starts_at",
            "ends_at",
            "per_user_limit",
        ]

    def get_discount(self, campaign) -> str:
        return str(campaigns.discount_for(campaign, self.context["cart_total"]))


class RedemptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Redemption
        fields = [
            "id",
            "campaign",
            *Redemption.CART_FIELDS,
            "idempotency_key",
            "created_at",
            "voided_at",
        ]


class AvailableCampaignsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("cart_total", OpenApiTypes.DECIMAL, required=True),
            OpenApiParameter("app", OpenApiTypes.INT, required=False, description="Id of the app in the cart."),
        ],
        responses={200: CampaignSerializer(many=True), 400: ERROR, 403: ERROR},
        summary="Campaigns the logged-in user can redeem for this cart",
    )
    def get(self, request):
        query = CartQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        cart_total, app = query.validated_data["cart_total"], query.validated_data.get("app")
        # The serialized offers are what the service caches: a cache hit skips building the serializer too.
        offers = campaigns.available_campaigns(request.user, cart_total, app, present=_present_offer)
        return Response(offers)


def _present_offer(campaign, cart_total):
    return dict(CampaignSerializer(campaign, context={"cart_total": cart_total}).data)


class RedeemView(KeyedWriteView):
    throttle_scope = "redeem"

    @keyed_write_schema(
        request=RedeemRequestSerializer,
        response=RedemptionSerializer,
        errors=(400, 404, 409, 422, 429),
        replay="repeating a request with the same key returns the first result.",
        summary="Redeem a campaign, once per Idempotency-Key",
    )
    def post(self, request, pk):
        key = idempotency_key(request)
        campaign = Campaign.objects.filter(pk=pk).first()
        if campaign is None:
            raise NotFound("There is no campaign with this id.")
        body = RedeemRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = campaigns.redeem_campaign(
            user=request.user,
            campaign=campaign,
            cart_total=body.validated_data.get("cart_total"),
            app=body.validated_data.get("app"),
            cart_reference=body.validated_data.get("cart_reference", ""),
            expected_points_cost=body.validated_data["expected_points_cost"],
            idempotency_key=key,
        )
        return keyed_response(RedemptionSerializer(result.redemption).data, created=result.created)


class CampaignPermissions(DjangoModelPermissions):
    """The same model permissions as the admin's Campaigns screens: reading needs `view_campaign` too."""

    perms_map = {**DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}


class ManagedCampaignSerializer(serializers.ModelSerializer):
    """A campaign as marketers edit it. Counters are read-only; every rule is the campaign service's."""

    # Sums over the campaign's counter shards (growth/campaign_counters.py), not columns.
    uses_count = serializers.IntegerField(read_only=True)
    budget_spent = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)

    class Meta:
        model = Campaign
        fields = ["id", *campaigns.CAMPAIGN_SETTINGS, "uses_count", "budget_spent", "created_at"]
        read_only_fields = ["created_at"]

    def _saved(self, campaign, save, many_to_many):
        try:
            save(campaign=campaign, actor=self.context["request"].user)
        except DjangoValidationError as error:
            raise serializers.ValidationError(serializers.as_serializer_error(error)) from error
        for field, values in many_to_many.items():
            getattr(campaign, field).set(values)
        return campaign

    @staticmethod
    def _split(validated_data):
        many = {f: validated_data.pop(f) for f in ("eligible_apps", "eligible_categories") if f in validated_data}
        return validated_data, many

    def create(self, validated_data):
        fields, many = self._split(validated_data)
        return self._saved(Campaign(**fields), campaigns.create_campaign, many)

    def update(self, instance, validated_data):
        fields, many = self._split(validated_data)
        for name, value in fields.items():
            setattr(instance, name, value)
        return self._saved(instance, campaigns.update_campaign, many)


@extend_schema(tags=["campaigns (marketers)"])
class CampaignViewSet(viewsets.ModelViewSet):
    """Campaign CRUD for Marketers (and anyone holding the campaign permissions), through the campaign service:
    the same rules and history as the admin. A redeemed campaign cannot be deleted: deactivate it (PATCH active)."""

    queryset = (
        Campaign.objects.with_counters()
        .prefetch_related("eligible_apps", "eligible_categories")
        .order_by("-starts_at", "-pk")
    )
    serializer_class = ManagedCampaignSerializer
    permission_classes = [IsAuthenticated, CampaignPermissions]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(responses={204: None, 409: OpenApiResponse(ERROR, description="campaign_has_redemptions")})
    def destroy(self, request, *args, **kwargs):
        campaigns.delete_campaign(campaign=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
