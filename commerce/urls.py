from django.urls import path

from . import views

urlpatterns = [
    path("apps/<slug:slug>/buy/", views.confirm_purchase, name="buy-app"),
    path("apps/<slug:slug>/buy/confirm/", views.buy, name="buy-app-confirm"),
    path("me/apps/", views.my_apps, name="my-apps"),
    path("plans/", views.plan_list, name="plans"),
    path("plans/<int:pk>/subscribe/", views.subscribe, name="subscribe-plan"),
]
