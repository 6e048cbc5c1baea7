"""Member API: buy an app with credits (optionally discounted by a campaign), once per Idempotency-Key."""

from django.shortcuts import get_object_or_404
from rest_framework import serializers

from backoffice.api import KeyedWriteView, keyed_response, keyed_write_schema
from backoffice.api_input import idempotency_key
from catalog.models import App
from growth.models import Campaign

from . import purchases
from .models import Purchase


class PurchaseRequestSerializer(serializers.Serializer):
    expected_price = serializers.IntegerField(
        min_value=0,
        required=False,
        help_text="The price the member was shown (after the campaign's discount); refused if it changed.",
    )
    campaign = serializers.PrimaryKeyRelatedField(
        queryset=Campaign.objects.all(), required=False, allow_null=True, help_text="A campaign to discount the app."
    )
    expected_points_cost = serializers.IntegerField(
        min_value=0, required=False, default=0, help_text="The campaign's points cost the member was shown."
    )


class PurchaseSerializer(serializers.ModelSerializer):
    app = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    campaign = serializers.IntegerField(source="redemption.campaign_id", read_only=True, allow_null=True)
    discount = serializers.DecimalField(
        source="redemption.discount_amount", max_digits=12, decimal_places=2, read_only=True, allow_null=True
    )

    class Meta:
        model = Purchase
        fields = ["id", "app", "price_paid", "campaign", "discount", "created_at", "refunded_at", "idempotency_key"]


class PurchaseView(KeyedWriteView):
    throttle_scope = "purchase"

    @keyed_write_schema(
        request=PurchaseRequestSerializer,
        response=PurchaseSerializer,
        errors=(400, 403, 404, 409, 422, 429),
        replay="the same request with the same key returns the first purchase.",
        summary="Buy an app with credits, once per Idempotency-Key",
    )
    def post(self, request, slug):
        key = idempotency_key(request)
        app = get_object_or_404(App, slug=slug)
        body = PurchaseRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        result = purchases.buy_app(
            member=request.user,
            app=app,
            idempotency_key=key,
            expected_price=body.validated_data.get("expected_price"),
            campaign=body.validated_data.get("campaign"),
            expected_points_cost=body.validated_data["expected_points_cost"],
        )
        return keyed_response(PurchaseSerializer(result.purchase).data, created=result.created)
