from django.urls import include, path

from . import views

# Approving or rejecting one proof: the page path (redirects) and the queue script's fetch path (JSON).
verdicts = [
    path("approve/", views.approve, name="moderation_approve"),
    path("reject/", views.reject, name="moderation_reject"),
    path("approve/next/", views.approve_next, name="moderation_approve_next"),
    path("reject/next/", views.reject_next, name="moderation_reject_next"),
]

urlpatterns = [
    path("", views.queue, name="moderation_queue"),
    path("bulk/", views.bulk, name="moderation_bulk"),
    path("<int:pk>/", include(verdicts)),
    path("<int:pk>/skip/", views.skip, name="moderation_skip"),
    path("proofs/", views.proof_list, name="moderation_proofs"),
    path("proofs/<int:pk>/", views.proof_detail, name="moderation_proof"),
    path("proofs/<int:pk>/invalidate/", views.invalidate, name="moderation_invalidate"),
    path("users/<int:pk>/", views.user_history, name="moderation_user_history"),
    path("downloads/", views.app_downloads, name="moderation_app_downloads"),
    path("invalidations/", views.invalidations, name="moderation_invalidations"),
]
