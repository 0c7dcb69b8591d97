"""The navigation marks exactly one current item, chosen by the page's address."""

import re

import pytest


def current_items(html: str) -> list[str]:
    """Labels of the nav links marked aria-current=page."""
    return re.findall(r'class="nav-link active" href="[^"]*" aria-current="page"><span>([^<]+)</span>', html)


@pytest.mark.parametrize(("path", "expected"), [
    ("/appuntamenti/nuovo", "Appuntamenti"),
    ("/admin/utenti", "Utenti"),
    ("/admin/partner", "Partner"),
])
def test_one_current_item_by_address(client, login_as, path, expected):
    login_as("admin")
    response = client.get(path)
    assert response.status_code == 200
    assert current_items(response.get_data(as_text=True)) == [expected]


def test_dashboard_current_only_on_home(client, login_as):
    login_as("operator")
    assert current_items(client.get("/").get_data(as_text=True)) == ["Cruscotto"]


@pytest.fixture
def counted_badge(app):
    """A menu badge on "Giovani" that counts how often it is asked."""
    from app import navigation

    calls: list[int] = []

    def count(user) -> int:
        calls.append(user.id)
        return 7

    navigation.register_badge("people.index", count, "da richiamare")
    yield calls
    navigation.BADGES.pop("people.index", None)


def test_menu_and_badges_only_on_full_pages(client, login_as, counted_badge):
    """A page builds the menu once (badge shown); an htmx fragment of the same view never builds it."""
    from tests.conftest import htmx

    login_as("operator")
    page = client.get("/giovani").get_data(as_text=True)
    assert len(counted_badge) == 1
    assert 'id="people-badge">7<span class="visually-hidden"> da richiamare</span>' in page
    fragment = client.get("/giovani?q=Rossi", headers=htmx())
    assert fragment.status_code == 200
    assert 'class="nav-link' not in fragment.get_data(as_text=True)
    assert len(counted_badge) == 1
