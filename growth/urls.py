from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/phone/", views.verify_phone, name="verify-phone"),
    path("accounts/password_reset/", views.RateLimitedPasswordResetView.as_view(), name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("r/<str:code>/", views.referral_link, name="referral-link"),
    path("apps/", views.app_list, name="apps"),
    path("apps/<slug:slug>/", views.app_detail, name="app-detail"),
    path("apps/<slug:slug>/downloaded/", views.mark_downloaded, name="mark-downloaded"),
    path("apps/<slug:slug>/proof/", views.upload_proof, name="upload-proof"),
    path("me/proofs/", views.my_proofs, name="my-proofs"),
    path("me/downloads/", views.my_downloads, name="my-downloads"),
    path("me/proofs/<int:pk>/", views.proof_detail, name="proof-detail"),
    path("me/points/", views.my_points, name="my-points"),
    path("me/referrals/", views.my_referrals, name="my-referrals"),
    path("me/notifications/", views.notifications, name="notifications"),
    path("leaderboard/", views.leaderboard, name="leaderboard"),
    path("discounts/", views.discounts, name="discounts"),
    path("discounts/<int:pk>/redeem/", views.redeem, name="redeem"),
]
