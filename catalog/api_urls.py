from rest_framework.routers import DefaultRouter

from .api import AppViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("apps", AppViewSet, basename="app")

urlpatterns = router.urls
