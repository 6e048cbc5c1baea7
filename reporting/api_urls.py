from django.urls import path

from .api import DailyView, SummaryView, TopAppsView

urlpatterns = [
    path("reports/summary/", SummaryView.as_view(), name="reports-summary"),
    path("reports/top-apps/", TopAppsView.as_view(), name="reports-top-apps"),
    path("reports/daily/", DailyView.as_view(), name="reports-daily"),
]
