from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("campaigns", api.CampaignViewSet, basename="api-campaigns")

urlpatterns = [
    path("campaigns/available/", api.AvailableCampaignsView.as_view(), name="api-campaigns-available"),
    path("campaigns/<int:pk>/redeem/", api.RedeemView.as_view(), name="api-campaign-redeem"),
] + router.urls
