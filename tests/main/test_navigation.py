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
