"""A write that loses a version race (version_id_col) answers 409 and writes nothing, on every route.

Routes with their own optimistic-version form answer their own 409 with the user's input kept; this
is the safety net for the others (e.g. a town's patron day, saved while an administrator saves the
same partner's details): SQLAlchemy's StaleDataError must never become a 500.
"""

import sqlalchemy as sa

from app.desks import services as desk_services
from app.extensions import db
from app.models import Organisation
from tests.conftest import htmx


def _lose_the_race(monkeypatch):
    """Someone else saves the partner between this request's read and its write."""
    original = desk_services.set_patron_day

    def racing(user, town, *args, **kwargs):
        db.session.execute(sa.update(Organisation).where(Organisation.id == town.id)
                           .values(version=Organisation.version + 1)
                           .execution_options(synchronize_session=False))
        return original(user, town, *args, **kwargs)

    monkeypatch.setattr(desk_services, "set_patron_day", racing)


def test_a_lost_version_race_is_a_409_and_nothing_is_written(client, login_as, network, monkeypatch):
    login_as("admin")
    town = network["Gessate"]
    before = (town.patron_saint, town.patron_month, town.patron_day, town.version)
    _lose_the_race(monkeypatch)
    data = {"patron_saint": "Santo di prova", "patron_day": "12", "patron_month": "3", "version": str(town.version)}
    page = client.post(f"/orari/gestione/comuni/{town.id}/patrono", data=data)
    assert page.status_code == 409
    assert "modificato questi dati nel frattempo" in page.get_data(as_text=True)
    fragment = client.post(f"/orari/gestione/comuni/{town.id}/patrono", data=data, headers=htmx())
    assert fragment.status_code == 409
    assert "<footer" not in fragment.get_data(as_text=True)
    db.session.expire_all()
    assert (town.patron_saint, town.patron_month, town.patron_day, town.version) == before
