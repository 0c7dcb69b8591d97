"""Partner organisations: create and edit with Italian validation messages; admins only."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.admin import services
from app.extensions import db
from app.models import AuditEvent, Organisation
from tests.conftest import htmx, login

VALID = {
    "name": "Comune di Melzo", "short_name": "Melzo", "kind": "municipality", "istat_code": "015140",
    "role_in_programme": "Nuovo sportello", "address": "piazza Vittorio Emanuele II 1, 20066 Melzo (MI)",
    "email": "Protocollo@Comune.Melzo.mi.it", "phone": "+39 02 951201",
    "website": "https://www.comune.melzo.mi.it", "active": "y",
}


def _by_name(name: str) -> Organisation | None:
    return db.session.scalar(sa.select(Organisation).where(Organisation.name == name))


def test_admin_creates_a_municipality(client, login_as):
    login_as("admin")
    response = client.post("/admin/partner/nuovo", data=VALID)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/partner"
    org = _by_name("Comune di Melzo")
    assert (org.short_name, org.kind, org.istat_code, org.active) == ("Melzo", "municipality", "015140", True)
    assert org.email == "protocollo@comune.melzo.mi.it"
    assert "Comune di Melzo" in client.get("/admin/partner").get_data(as_text=True)


def test_municipality_without_istat_code_is_accepted(client, login_as):
    login_as("admin")
    assert client.post("/admin/partner/nuovo", data={**VALID, "istat_code": " "}).status_code == 303
    assert _by_name("Comune di Melzo").istat_code is None


def test_admin_creates_an_association_without_istat_code(client, login_as):
    login_as("admin")
    data = {**VALID, "name": "Cooperativa Esempio", "short_name": "Esempio", "kind": "association",
            "istat_code": "", "email": "", "phone": "", "website": ""}
    assert client.post("/admin/partner/nuovo", data=data).status_code == 303
    org = _by_name("Cooperativa Esempio")
    assert org.istat_code is None and org.kind == "association"


@pytest.mark.parametrize("changes, field, message", [
    ({"istat_code": "15140"}, "istat_code", "Il codice ISTAT è formato da 6 cifre (per esempio 015175)."),
    ({"istat_code": "01514A"}, "istat_code", "Il codice ISTAT è formato da 6 cifre (per esempio 015175)."),
    ({"kind": "association"}, "istat_code", "Il codice ISTAT si indica solo per i Comuni: lascia vuoto il campo."),
    ({"istat_code": "015205"}, "istat_code", "Questo codice ISTAT è già di un altro Comune."),
    ({"name": "comune di pioltello"}, "name", "Esiste già un partner con questo nome."),
    ({"name": ""}, "name", "Inserisci il nome del partner."),
    ({"short_name": " "}, "short_name", "Inserisci un nome breve."),
    ({"kind": "company"}, "kind", "Scegli uno dei tipi proposti."),
    ({"email": "non-una-email"}, "email", "Indirizzo e-mail non valido."),
    ({"phone": "chiamami"}, "phone", "Numero di telefono non valido: usa solo cifre, spazi e il prefisso +."),
    ({"website": "javascript:alert(1)"}, "website", "Indirizzo web non valido: deve iniziare con https:// (o http://)."),
    ({"website": "www.comune.melzo.mi.it"}, "website", "Indirizzo web non valido: deve iniziare con https:// (o http://)."),
    ({"name": "x" * 161}, "name", "Al massimo 160 caratteri."),
])
def test_invalid_partner_data_gets_italian_messages(client, login_as, network, changes, field, message):
    login_as("admin")
    network["Segrate"].istat_code = "015205"
    db.session.commit()
    response = client.post("/admin/partner/nuovo", data={**VALID, **changes})
    assert response.status_code == 422
    html = response.get_data(as_text=True).replace("&#39;", "'")
    assert f'id="{field}-err">{message}<' in html
    assert _by_name("Comune di Melzo") is None


def test_admin_edits_and_deactivates_a_partner(client, login_as, network, make_user):
    login_as("admin")
    segrate = network["Segrate"]
    staff = make_user("operator", organisation=segrate)
    page = client.get(f"/admin/partner/{segrate.id}").get_data(as_text=True)
    assert f'value="{segrate.name}"' in page
    data = {"name": segrate.name, "short_name": "Segrate", "kind": "municipality", "istat_code": "015205",
            "role_in_programme": "Sportello nel centro civico", "address": "via I Maggio, Segrate",
            "email": "", "phone": "02 26902", "website": "https://www.comune.segrate.mi.it",
            "version": segrate.version}  # active unticked
    response = client.post(f"/admin/partner/{segrate.id}", data=data)
    assert response.status_code == 303
    db.session.refresh(segrate)
    assert segrate.role_in_programme == "Sportello nel centro civico" and segrate.active is False
    # People of a deactivated partner can no longer sign in.
    assert login(client.application.test_client(), staff.email).status_code == 422


def test_admin_cannot_deactivate_own_organisation(client, login_as, network):
    me = login_as("admin")
    office = network["Ufficio di Piano"]
    assert me.organisation_id == office.id
    data = {"name": office.name, "short_name": office.short_name, "kind": office.kind, "istat_code": "",
            "version": office.version}
    response = client.post(f"/admin/partner/{office.id}", data=data)
    assert response.status_code == 422
    assert "Non puoi disattivare la tua organizzazione." in response.get_data(as_text=True)
    db.session.refresh(office)
    assert office.active is True


def test_htmx_partner_form_is_a_fragment(client, login_as, network):
    login_as("admin")
    response = client.get(f"/admin/partner/{network['Rodano'].id}", headers=htmx())
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="organisation-form">') and "<footer" not in body
    invalid = client.post("/admin/partner/nuovo", headers=htmx(), data={**VALID, "istat_code": "1"})
    assert invalid.status_code == 422 and "6 cifre" in invalid.get_data(as_text=True)
    ok = client.post("/admin/partner/nuovo", headers=htmx(), data=VALID)
    assert ok.status_code == 204 and ok.headers["HX-Redirect"] == "/admin/partner"


def test_coordinator_sees_own_partner_only_and_cannot_edit(client, login_as, network):
    login_as("coordinator")
    page = client.get("/admin/partner").get_data(as_text=True)
    assert "Associazione Students Lab" in page and "Comune di Rodano" not in page
    assert "/admin/partner/nuovo" not in page
    assert client.get("/admin/partner/nuovo").status_code == 403
    assert client.get(f"/admin/partner/{network['Students Lab'].id}").status_code == 403
    assert client.post(f"/admin/partner/{network['Students Lab'].id}", data=VALID).status_code == 403


def test_unknown_partner_is_404(client, login_as):
    login_as("admin")
    assert client.get("/admin/partner/424242").status_code == 404


def test_an_empty_post_changes_nothing_and_never_deactivates(client, login_as, network):
    login_as("admin")
    segrate = network["Segrate"]
    response = client.post(f"/admin/partner/{segrate.id}", data={})
    assert response.status_code == 422
    assert "Inserisci il nome del partner." in response.get_data(as_text=True)
    db.session.refresh(segrate)
    assert segrate.active is True and segrate.name == "Comune di Segrate"


# --- Versions: two administrators editing the same partner ---------------------------------

STALE = "Questo partner è stato modificato da un altro utente"


def _edit_form(org: Organisation, **changes) -> dict:
    data = {"name": org.name, "short_name": org.short_name, "kind": org.kind, "istat_code": org.istat_code or "",
            "role_in_programme": org.role_in_programme, "address": org.address, "email": org.email,
            "phone": org.phone, "website": org.website, "active": "y" if org.active else "", "version": org.version}
    data.update(changes)
    return data


def _other_admin(app, make_user):
    other = app.test_client()
    assert login(other, make_user("admin").email).status_code == 303
    return other


def test_the_edit_form_carries_the_version(client, login_as, network):
    login_as("admin")
    segrate = network["Segrate"]
    page = client.get(f"/admin/partner/{segrate.id}").get_data(as_text=True)
    assert f'name="version" type="hidden" value="{segrate.version}"' in page
    assert 'name="version"' not in client.get("/admin/partner/nuovo").get_data(as_text=True)


def test_two_sequential_saves_with_the_right_version_are_both_applied(client, login_as, network):
    login_as("admin")
    segrate = network["Segrate"]
    assert segrate.version == 1
    first = client.post(f"/admin/partner/{segrate.id}", data=_edit_form(segrate, phone="02 111"))
    assert first.status_code == 303
    db.session.refresh(segrate)
    assert (segrate.phone, segrate.version) == ("02 111", 2)
    second = client.post(f"/admin/partner/{segrate.id}", data=_edit_form(segrate, address="via Roma 1"))
    assert second.status_code == 303
    db.session.refresh(segrate)
    assert (segrate.phone, segrate.address, segrate.version) == ("02 111", "via Roma 1", 3)


def test_stale_form_gets_409_keeps_the_input_and_writes_nothing(app, client, login_as, make_user, network):
    login_as("admin")
    segrate = network["Segrate"]
    opened = _edit_form(segrate)  # both administrators open the form at version 1
    assert _other_admin(app, make_user).post(
        f"/admin/partner/{segrate.id}", data=_edit_form(segrate, phone="02 111")).status_code == 303

    response = client.post(f"/admin/partner/{segrate.id}", data={**opened, "email": "info@segrate.it", "active": ""})
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert STALE in body and "le tue modifiche non sono state salvate" in body
    assert "<strong>Telefono</strong>: 02 111" in body  # what changed meanwhile
    assert "<strong>E-mail</strong>: (vuoto)" in body and "<strong>Partner attivo</strong>: sì" in body
    assert 'value="info@segrate.it"' in body  # the person's input stays in the form
    assert 'name="version" type="hidden" value="2"' in body  # saving again is a choice made knowingly
    db.session.refresh(segrate)
    assert (segrate.phone, segrate.email, segrate.active, segrate.version) == ("02 111", "", True, 2)
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "organisation.deactivated")) == 0


@pytest.mark.parametrize(("version", "status"), [("", 422), ("abc", 422), ("0", 422), ("99", 409)])
def test_a_missing_or_wrong_version_is_refused(client, login_as, network, version, status):
    """No usable version: a broken form (422); a well-formed other version: stale (409). Nothing saved."""
    login_as("admin")
    segrate = network["Segrate"]
    response = client.post(f"/admin/partner/{segrate.id}", data=_edit_form(segrate, phone="02 999", version=version))
    assert response.status_code == status
    db.session.refresh(segrate)
    assert segrate.phone != "02 999" and segrate.version == 1


def test_stale_htmx_save_is_the_form_fragment(app, client, login_as, make_user, network):
    login_as("admin")
    rodano = network["Rodano"]
    opened = _edit_form(rodano, phone="02 222")
    assert _other_admin(app, make_user).post(
        f"/admin/partner/{rodano.id}", data=_edit_form(rodano, phone="02 111")).status_code == 303
    response = client.post(f"/admin/partner/{rodano.id}", data=opened, headers=htmx())
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert body.lstrip().startswith('<div id="organisation-form">') and STALE in body
    assert 'role="alert" tabindex="-1" id="form-errors" autofocus' in body


def test_a_write_between_check_and_commit_is_refused_whole(app, make_user, network):
    """The version in the UPDATE's WHERE catches a save that lands after the check: no half write."""
    actor = make_user("admin")
    segrate = network["Segrate"]
    data = services.OrganisationData(name=segrate.name, short_name=segrate.short_name, kind=segrate.kind,
                                     address="via Nuova 2", active=False)
    assert segrate.version == 1  # loaded: the check in the service passes
    with db.engine.begin() as other:  # another request commits while this one is between check and commit
        other.execute(sa.update(Organisation.__table__).where(Organisation.id == segrate.id)
                      .values(phone="02 111", version=Organisation.__table__.c.version + 1))
    with app.test_request_context(), pytest.raises(services.Stale, match="modificato da un altro utente"):
        services.update_organisation(actor, segrate, data, version=1)
    db.session.refresh(segrate)
    assert (segrate.phone, segrate.address, segrate.active, segrate.version) == ("02 111", "", True, 2)
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(
        AuditEvent.action == "organisation.deactivated")) == 0
