import factory

from backoffice.images import placeholder_png
from backoffice.tests.factories import UserFactory
from catalog.tests.factories import AppFactory
from moderation.models import Download, ScreenshotProof


class DownloadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Download

    user = factory.SubFactory(UserFactory, verified=True)
    app = factory.SubFactory(AppFactory)


class ScreenshotProofFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ScreenshotProof

    download = factory.SubFactory(DownloadFactory)
    image = factory.LazyFunction(lambda: placeholder_png("ok", size=(90, 160), name="proof.png"))
