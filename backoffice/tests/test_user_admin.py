import pytest
from django.contrib.auth import get_user_model

from backoffice.roles import ADMINS
from backoffice.tests.factories import StaffFactory, UserFactory
from moderation.tests.factories import ScreenshotProofFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(StaffFactory(role=ADMINS))
    return client


def test_deleting_a_user_with_proofs_is_refused_with_a_clear_message(admin_client):
    member = ScreenshotProofFactory().download.user
    response = admin_client.post(f"/admin/users/delete/{member.pk}/", follow=True)
    assert response.status_code == 200
    assert "cannot be deleted" in response.content.decode()
    assert get_user_model().objects.filter(pk=member.pk).exists()


def test_the_delete_page_of_a_user_with_history_sends_the_admin_to_deactivate_instead(admin_client):
    member = ScreenshotProofFactory().download.user
    response = admin_client.get(f"/admin/users/delete/{member.pk}/")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/admin/users/edit/{member.pk}/"


def test_a_user_without_history_can_be_deleted(admin_client):
    member = UserFactory()
    admin_client.post(f"/admin/users/delete/{member.pk}/")
    assert not get_user_model().objects.filter(pk=member.pk).exists()
