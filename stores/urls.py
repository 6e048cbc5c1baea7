from django.urls import path

from . import live, views

app_name = "stores_public"
urlpatterns = [
    path("marketplace/price-list/<str:token>.xml", views.price_list_xml, name="price_list"),
    path("staff/alerts/stream/", live.alert_stream, name="alert_stream"),
]
