import pytest

from backoffice.tests.factories import admin
from catalog.tests.factories import StoreFactory


@pytest.fixture
def store():
    """The store the product files of these tests name (`main-store`)."""
    return StoreFactory(slug="main-store")


@pytest.fixture
def staff():
    """An Admin: may upload products."""
    return admin()
