from django.urls import path

from . import api

urlpatterns = [
    path("v1/apps/", api.AppsView.as_view(), name="api-v1-apps"),
    path("v1/purchases/", api.PurchasesView.as_view(), name="api-v1-purchases"),
    path("v1/users/", api.UsersView.as_view(), name="api-v1-users"),
    path("v1/ledger/", api.LedgerView.as_view(), name="api-v1-ledger"),
]
