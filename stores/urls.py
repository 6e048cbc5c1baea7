from django.urls import path

from . import views

app_name = "stores_public"
urlpatterns = [
    path("marketplace/price-list/<str:token>.xml", views.price_list_xml, name="price_list"),
]
