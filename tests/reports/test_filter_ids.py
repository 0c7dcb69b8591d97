"""Filter ids in the dashboard's address go through the shared bounded parser."""

import pytest


@pytest.mark.parametrize("value", ["²", "-1", "x1", "99999999999999999999999"])
def test_a_filter_id_that_is_no_number_answers_404_not_500(client, login_as, value):
    login_as("admin")
    assert client.get(f"/monitoraggio?comune={value}").status_code == 404
