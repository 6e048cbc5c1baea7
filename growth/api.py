"""Public API for members: available campaigns and idempotent redemption."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice.throttling import ScopedRateThrottle, UserRateThrottle
from catalog.selectors import active_apps

from . import selectors, services
from .models import Campaign, Redemption

IDEMPOTENCY_HEADER = "Idempotency-Key"

ERROR = inline_serializer(
    "Error",
    {
        "error": inline_serializer(
            "ErrorBody",
            {"code": serializers.CharField(), "message": serializers.CharField(), "details": serializers.JSONField()},
        )
    },
)


class CartQuerySerializer(serializers.Serializer):
    cart_total = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    app = serializers.PrimaryKeyRelatedField(queryset=active_apps(), required=False, allow_null=True)


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
            "points_cost",
            "starts_at",
            "ends_at",
            "per_user_limit",
        ]

    def get_discount(self, campaign) -> str:
        return str(services.discount_for(campaign, self.context["cart_total"]))


class RedemptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Redemption
        fields = ["id", "campaign", "app", "cart_total", "discount_amount", "idempotency_key", "created_at"]


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
        campaigns = selectors.available_campaigns(request.user, cart_total, app)
        return Response(CampaignSerializer(campaigns, many=True, context={"cart_total": cart_total}).data)


class RedeemView(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [UserRateThrottle, ScopedRateThrottle]
    throttle_scope = "redeem"

    @extend_schema(
        request=CartQuerySerializer,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=True,
                description="1 to 64 characters; repeating a request with the same key returns the first result.",
            )
        ],
        responses={
            201: RedemptionSerializer,
            200: OpenApiResponse(RedemptionSerializer, description="Replay of an earlier request with this key."),
            400: ERROR,
            404: ERROR,
            409: ERROR,
            422: ERROR,
            429: ERROR,
        },
        summary="Redeem a campaign, once per Idempotency-Key",
    )
    def post(self, request, pk):
        key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
        if not key or len(key) > 64:
            raise services.RedemptionRefused(
                "idempotency_key_required", "Send an Idempotency-Key header of 1 to 64 characters."
            )
        campaign = Campaign.objects.filter(pk=pk).first()
        if campaign is None:
            raise NotFound("There is no campaign with this id.")
        body = CartQuerySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        redemption, created = services.redeem_campaign(
            user=request.user,
            campaign=campaign,
            cart_total=body.validated_data["cart_total"],
            app=body.validated_data.get("app"),
            idempotency_key=key,
        )
        response = Response(
            RedemptionSerializer(redemption).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )
        response["Idempotent-Replayed"] = "false" if created else "true"
        return response
