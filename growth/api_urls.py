from django.urls import path

from . import api

urlpatterns = [
    path("campaigns/available/", api.AvailableCampaignsView.as_view(), name="api-campaigns-available"),
    path("campaigns/<int:pk>/redeem/", api.RedeemView.as_view(), name="api-campaign-redeem"),
]
