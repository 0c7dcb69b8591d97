"""Desk management and patron days carry an optimistic version: two administrators never overwrite each other.

A form opened on an older version gets 409, writes nothing (no audit line either) and keeps the input;
the right version is applied; a missing or garbage version is a 422, never a 500; htmx gets fragments.
"""

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, Desk, Organisation
from tests.conftest import htmx


def _audit_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))


def _desk_data(desk, network, operator, tutor, **overrides) -> dict:
    data = {"name": desk.name, "municipality_id": network["Segrate"].id, "partner_id": network["Students Lab"].id,
            "rooms": 1, "slot_minutes": 45, "buffer_minutes": 15, "min_notice_minutes": 120, "active": "y",
            "services": ["orientamento"], "operator_ids": [operator.id], "tutor_ids": [tutor.id],
            "version": str(desk.version)}
    data.update(overrides)
    return data


@pytest.fixture
def staffed(make_desk, make_user):
    operator, tutor, other_tutor = make_user("operator"), make_user("tutor"), make_user("tutor", full_name="Zeno Tutor")
    desk = make_desk(operators=[operator], tutors=[tutor])
    return desk, operator, tutor, other_tutor


def test_the_edit_form_carries_the_version(client, login_as, staffed):
    login_as("admin")
    desk = staffed[0]
    page = client.get(f"/orari/gestione/{desk.id}").get_data(as_text=True)
    assert re.search(rf'<input[^>]*name="version"[^>]*type="hidden"[^>]*value="{desk.version}"', page)


def test_right_version_is_applied_and_bumps_it_even_for_staff_only(client, login_as, network, staffed):
    login_as("admin")
    desk, operator, tutor, other_tutor = staffed
    before = desk.version
    answer = client.post(f"/orari/gestione/{desk.id}",
                         data=_desk_data(desk, network, operator, tutor, tutor_ids=[tutor.id, other_tutor.id]))
    assert answer.status_code == 303
    db.session.expire_all()
    assert {u.id for u in desk.tutors} == {tutor.id, other_tutor.id}
    assert desk.version == before + 1  # only the staff changed: the version still moves


@pytest.mark.parametrize("headers", [{}, htmx()], ids=["page", "htmx"])
def test_stale_desk_form_is_409_keeps_input_lists_differences_writes_nothing(client, login_as, network, staffed,
                                                                            headers):
    login_as("admin")
    desk, operator, tutor, other_tutor = staffed
    opened = _desk_data(desk, network, operator, tutor, name="Nome che ho scritto io", address="Via Mia 1")
    # Someone else saves first: a new tutor and another address.
    first = client.post(f"/orari/gestione/{desk.id}",
                        data=_desk_data(desk, network, operator, tutor, tutor_ids=[other_tutor.id],
                                        address="Via Loro 2"))
    assert first.status_code == 303
    db.session.expire_all()
    saved = (desk.name, desk.address, [u.id for u in desk.tutors], desk.version)
    audits = _audit_count()
    answer = client.post(f"/orari/gestione/{desk.id}", data=opened, headers=headers)
    text = answer.get_data(as_text=True)
    assert answer.status_code == 409
    assert "modificato da un altro utente" in text
    assert "Nome che ho scritto io" in text and "Via Mia 1" in text  # the input is kept
    assert "Via Loro 2" in text and "Zeno Tutor" in text  # the saved differences are listed
    assert f'value="{saved[3]}"' in text  # the form now carries the current version
    assert ("<footer" in text) == (not headers)
    db.session.expire_all()
    assert (desk.name, desk.address, [u.id for u in desk.tutors], desk.version) == saved
    assert _audit_count() == audits


@pytest.mark.parametrize("version", [None, "", "abc", "0", "-1", "9" * 40])
def test_missing_or_garbage_desk_version_is_422(client, login_as, network, staffed, version):
    login_as("admin")
    desk, operator, tutor, _ = staffed
    data = _desk_data(desk, network, operator, tutor, name="Cambiato")
    if version is None:
        del data["version"]
    else:
        data["version"] = version
    answer = client.post(f"/orari/gestione/{desk.id}", data=data)
    # A 40-digit number is no version any row can hold: the form is broken (422), as everywhere (app/versions.py).
    assert answer.status_code == 422
    assert "Il modulo non indica la versione dei dati" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert desk.name != "Cambiato"


def test_desk_race_between_check_and_commit_is_409(client, login_as, network, staffed, monkeypatch):
    """A save landing between this request's version check and its UPDATE: the compare-and-set refuses it."""
    from app.desks import services

    login_as("admin")
    desk, operator, tutor, _ = staffed
    original = services._apply_desk_data

    def racing(target, data):
        db.session.execute(sa.update(Desk).where(Desk.id == target.id).values(version=Desk.version + 1)
                           .execution_options(synchronize_session=False))
        return original(target, data)

    monkeypatch.setattr(services, "_apply_desk_data", racing)
    answer = client.post(f"/orari/gestione/{desk.id}", data=_desk_data(desk, network, operator, tutor,
                                                                         name="Perso"))
    assert answer.status_code == 409 and "Perso" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert desk.name != "Perso"


def _patron(town, **overrides) -> dict:
    data = {"patron_saint": "San Mio", "patron_day": "12", "patron_month": "3", "version": str(town.version)}
    data.update(overrides)
    return data


def test_patron_right_version_is_applied(client, login_as, network):
    login_as("admin")
    town = network["Gessate"]
    before = town.version
    assert client.post(f"/orari/gestione/comuni/{town.id}/patrono", data=_patron(town)).status_code == 303
    db.session.expire_all()
    assert (town.patron_saint, town.patron_day, town.patron_month, town.version) == ("San Mio", 12, 3, before + 1)
    page = client.get("/orari/gestione").get_data(as_text=True)
    assert f'name="version" value="{town.version}"' in page


@pytest.mark.parametrize("headers", [{}, htmx()], ids=["page", "htmx"])
def test_stale_patron_form_is_409_and_writes_nothing(client, login_as, network, headers):
    login_as("admin")
    town = network["Gessate"]
    opened = _patron(town)
    # A partner save (or another patron save) lands first.
    town.patron_saint, town.patron_day, town.patron_month = "San Loro", 5, 6
    db.session.commit()
    saved = (town.patron_saint, town.patron_day, town.patron_month, town.version)
    audits = _audit_count()
    answer = client.post(f"/orari/gestione/comuni/{town.id}/patrono", data=opened, headers=headers)
    text = answer.get_data(as_text=True)
    assert answer.status_code == 409
    assert "modificato questi dati nel frattempo" in text and "San Loro 05/06" in text
    if headers:
        assert "<footer" not in text
    else:  # the management page, the row keeping what was typed and carrying the current version
        assert 'value="San Mio"' in text and f'name="version" value="{saved[3]}"' in text
    db.session.expire_all()
    assert (town.patron_saint, town.patron_day, town.patron_month, town.version) == saved
    assert _audit_count() == audits


@pytest.mark.parametrize("headers", [{}, htmx()], ids=["page", "htmx"])
@pytest.mark.parametrize("version", [None, "", "x1", "0"])
def test_missing_or_garbage_patron_version_is_422(client, login_as, network, version, headers):
    login_as("admin")
    town = network["Gessate"]
    data = _patron(town)
    if version is None:
        del data["version"]
    else:
        data["version"] = version
    answer = client.post(f"/orari/gestione/comuni/{town.id}/patrono", data=data, headers=headers)
    assert answer.status_code == 422
    assert "versione" in answer.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Organisation, town.id).patron_saint != "San Mio"
