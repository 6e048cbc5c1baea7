from django.urls import path

from . import api

urlpatterns = [
    path("apps/<slug:slug>/purchase/", api.PurchaseView.as_view(), name="api-app-purchase"),
]
