"""Account administration: search, create with invitation, edit with versions, (de)activation, scope."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.admin import services
from app.domain.errors import Conflict
from app.extensions import db
from app.models import OutboxMessage, User, UserSession
from tests.conftest import htmx, login

STALE = "Qualcun altro ha modificato questo account"


def _users(client, **params):
    return client.get("/admin/utenti", query_string=params)


def _names(html: str) -> set[str]:
    return set(re.findall(r'<th scope="row"><a href="/admin/utenti/\d+">([^<]+)</a>', html))


def _form(user: User, **changes) -> dict:
    data = {"full_name": user.full_name, "role": user.role, "organisation_id": user.organisation_id,
            "version": user.version}
    data.update(changes)
    return data


# --- List and active search -------------------------------------------------------

def test_admin_sees_everyone_and_filters(client, login_as, make_user, network):
    login_as("admin", full_name="Giulia Ferrari")
    make_user("tutor", full_name="Luca Rossi")
    make_user("operator", full_name="Sara Colombo", organisation=network["Ala Milano"])
    make_user("municipal_contact", full_name="Paola Galli", active=False)

    assert _names(_users(client).get_data(as_text=True)) == {"Giulia Ferrari", "Luca Rossi", "Sara Colombo",
                                                             "Paola Galli"}
    assert _names(_users(client, q="ROSSI").get_data(as_text=True)) == {"Luca Rossi"}
    assert _names(_users(client, q="operator").get_data(as_text=True)) == {"Sara Colombo"}  # by e-mail
    assert _names(_users(client, role="tutor").get_data(as_text=True)) == {"Luca Rossi"}
    org = network["Ala Milano"].id
    assert _names(_users(client, organisation=org).get_data(as_text=True)) == {"Sara Colombo"}
    assert _names(_users(client, status="inactive").get_data(as_text=True)) == {"Paola Galli"}
    assert _names(_users(client, q="%").get_data(as_text=True)) == set()  # wildcards are literal


def test_active_search_returns_only_the_results_fragment(client, login_as, make_user):
    login_as("admin")
    make_user("tutor", full_name="Luca Rossi")
    response = client.get("/admin/utenti", query_string={"q": "rossi"}, headers=htmx())
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="user-results">')
    assert "<footer" not in body and "<form class=\"filters\"" not in body
    assert _names(body) == {"Luca Rossi"}
    assert "HX-Request" in response.headers["Vary"]
    page = client.get("/admin/utenti").get_data(as_text=True)
    assert 'hx-get="/admin/utenti"' in page and 'hx-target="#user-results"' in page


def test_coordinator_sees_only_own_organisation_staff(client, login_as, make_user, network):
    login_as("coordinator", full_name="Marco Bianchi")  # Students Lab
    make_user("tutor", full_name="Luca Rossi")
    make_user("municipal_contact", full_name="Contatto Students Lab", organisation=network["Students Lab"])
    make_user("tutor", full_name="Davide Greco", organisation=network["Ala Milano"])
    make_user("admin", full_name="Giulia Ferrari")
    html = _users(client).get_data(as_text=True)
    assert _names(html) == {"Marco Bianchi", "Luca Rossi"}
    # Filters cannot widen the scope.
    other_org = _users(client, organisation=network["Ala Milano"].id).get_data(as_text=True)
    assert _names(other_org) == set()


def test_search_ignores_case_and_accents(client, login_as, make_user):
    login_as("admin", full_name="Giulia Ferrari")
    make_user("tutor", full_name="Nicolò Bianchi")
    make_user("tutor", full_name="ÉLODIE Ștefănescu")
    make_user("tutor", full_name="Nicola Verdi")
    assert _names(_users(client, q="nicolo").get_data(as_text=True)) == {"Nicolò Bianchi"}
    assert _names(_users(client, q="NICOLÒ").get_data(as_text=True)) == {"Nicolò Bianchi"}
    assert _names(_users(client, q="nicol").get_data(as_text=True)) == {"Nicolò Bianchi", "Nicola Verdi"}
    assert _names(_users(client, q="elodie stefanescu").get_data(as_text=True)) == {"ÉLODIE Ștefănescu"}
    assert _names(_users(client, q="Élodie").get_data(as_text=True)) == {"ÉLODIE Ștefănescu"}
    assert _names(_users(client, q="bianchi nicolo").get_data(as_text=True)) == {"Nicolò Bianchi"}  # any order
    for literal in ("*", "?", "[a]", "_", "%"):
        assert _names(_users(client, q=literal).get_data(as_text=True)) == set()


@pytest.fixture
def small_pages(monkeypatch):
    """Two accounts a page, so a handful of accounts makes several pages."""
    monkeypatch.setattr(services, "USERS_PER_PAGE", 2)


def test_the_list_is_paged_by_name(client, login_as, make_user, small_pages):
    login_as("admin", full_name="Anna Admin")
    for name in ("Bruno Tutor", "Carla Tutor", "Dario Tutor", "Elena Tutor"):
        make_user("tutor", full_name=name)
    first = client.get("/admin/utenti").get_data(as_text=True)
    second = client.get("/admin/utenti", query_string={"pagina": 2}).get_data(as_text=True)
    last = client.get("/admin/utenti", query_string={"pagina": 3}).get_data(as_text=True)
    assert _names(first) == {"Anna Admin", "Bruno Tutor"}
    assert _names(second) == {"Carla Tutor", "Dario Tutor"}
    assert _names(last) == {"Elena Tutor"}
    assert "5 account" in first and "pagina 1 di 3" in first
    assert 'class="pagination-wrapper"' in first and 'aria-label="Pagine degli account"' in first
    assert '<a class="page-link" href="/admin/utenti?pagina=2" aria-current="page">' in second
    assert 'href="/admin/utenti?pagina=3"' in second and 'href="/admin/utenti?pagina=1"' in second
    # Past the end (or garbage) shows the nearest page, never an error.
    assert _names(client.get("/admin/utenti?pagina=99").get_data(as_text=True)) == {"Elena Tutor"}
    assert _names(client.get("/admin/utenti?pagina=x").get_data(as_text=True)) == {"Anna Admin", "Bruno Tutor"}


def test_page_links_keep_the_filters(client, login_as, make_user, network, small_pages):
    login_as("admin", full_name="Anna Admin")
    for name in ("Bruno Rossi", "Carla Rossi", "Dario Rossi"):
        make_user("tutor", full_name=name)
    make_user("operator", full_name="Elena Rossi")
    org = make_user("tutor", full_name="Fabio Verdi").organisation_id
    query = {"q": "rossi", "role": "tutor", "organisation": org, "status": "active"}
    first = client.get("/admin/utenti", query_string=query).get_data(as_text=True)
    assert _names(first) == {"Bruno Rossi", "Carla Rossi"} and "3 account corrispondono ai filtri" in first
    link = f"/admin/utenti?pagina=2&amp;q=rossi&amp;role=tutor&amp;organisation={org}&amp;status=active"
    assert f'href="{link}"' in first and f'hx-get="{link}"' in first
    second = client.get("/admin/utenti", query_string={**query, "pagina": 2}, headers=htmx())
    assert second.get_data(as_text=True).lstrip().startswith('<div id="user-results">')
    assert _names(second.get_data(as_text=True)) == {"Dario Rossi"}


def test_coordinator_pages_stay_in_scope(client, login_as, make_user, network, small_pages):
    login_as("coordinator", full_name="Marco Bianchi")  # Students Lab
    for name in ("Bruno Tutor", "Carla Tutor"):
        make_user("tutor", full_name=name)
    for name in ("Zeno Altro", "Yuri Altro", "Xena Altro"):
        make_user("tutor", full_name=name, organisation=network["Ala Milano"])
    pages = [client.get("/admin/utenti", query_string={"pagina": n}).get_data(as_text=True) for n in (1, 2, 3)]
    assert "3 account" in pages[0] and "pagina 1 di 2" in pages[0]
    assert set().union(*map(_names, pages)) == {"Marco Bianchi", "Bruno Tutor", "Carla Tutor"}


# --- Create --------------------------------------------------------------------------

def test_admin_creates_an_account_and_the_person_sets_a_password(app, client, login_as, network):
    login_as("admin")
    response = client.post("/admin/utenti/nuovo", data={
        "full_name": "  Nuova   Persona ", "email": "Nuova.Persona@Prova.test", "role": "tutor",
        "organisation_id": network["Somaschi"].id})
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/utenti"
    user = db.session.scalar(sa.select(User).where(User.email == "nuova.persona@prova.test"))
    assert user.full_name == "Nuova Persona" and user.role == "tutor"
    assert user.organisation_id == network["Somaschi"].id and user.active

    [message] = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.recipient == user.email)).all()
    assert "Nuova Persona" in message.body_text
    path = re.search(r"https?://[^/\s]+(/password/reset/\S+)", message.body_text).group(1)

    newcomer = app.test_client()
    page = newcomer.get(path)
    assert page.status_code == 200 and "Benvenuto" in page.get_data(as_text=True)
    chosen = "la-mia-password-segreta"
    assert newcomer.post(path, data={"new_password": chosen, "confirm": chosen}).status_code == 303
    assert login(newcomer, user.email, chosen).status_code == 303
    assert newcomer.get(path).status_code == 404  # the invitation works once


def test_invitation_never_contains_a_password(client, login_as, network):
    login_as("admin")
    client.post("/admin/utenti/nuovo", data={"full_name": "Tizio Caio", "email": "tizio@prova.test",
                                             "role": "operator", "organisation_id": network["Segrate"].id})
    message = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.recipient == "tizio@prova.test"))
    assert message is not None
    assert not re.search(r"password\s*:", message.body_text, re.IGNORECASE)
    assert "hub-demo-2026" not in message.body_text


@pytest.mark.parametrize("changes, field, message", [
    ({"email": "non-valida"}, "email", "Indirizzo e-mail non valido."),
    ({"full_name": "   "}, "full_name", "Inserisci nome e cognome."),
    ({"role": "superuser"}, "role", "Scegli uno dei ruoli proposti."),
    ({"organisation_id": "999999"}, "organisation_id", "Scegli una delle organizzazioni proposte."),
    ({"organisation_id": "abc"}, "organisation_id", "Scegli un'organizzazione."),
    ({"role": ""}, "role", "Scegli un ruolo."),
])
def test_create_refuses_invalid_data_with_italian_messages(client, login_as, network, changes, field, message):
    login_as("admin")
    data = {"full_name": "Nome Cognome", "email": "nome@prova.test", "role": "tutor",
            "organisation_id": network["Students Lab"].id}
    data.update(changes)
    response = client.post("/admin/utenti/nuovo", data=data)
    assert response.status_code == 422
    assert f'id="{field}-err">{message}<' in response.get_data(as_text=True).replace("&#39;", "'")
    assert db.session.scalar(sa.select(sa.func.count(User.id)).where(User.email == "nome@prova.test")) == 0


def test_duplicate_email_is_refused(client, login_as, make_user, network):
    login_as("admin")
    existing = make_user("tutor")
    response = client.post("/admin/utenti/nuovo", data={
        "full_name": "Doppione", "email": existing.email.upper(), "role": "tutor",
        "organisation_id": network["Students Lab"].id})
    assert response.status_code == 422
    assert "Esiste già un account con questo indirizzo e-mail." in response.get_data(as_text=True)


def test_coordinator_creates_only_in_own_organisation_with_staff_roles(client, login_as, network):
    login_as("coordinator")
    base = {"full_name": "Nuovo Tutor", "email": "nuovo.tutor@prova.test", "role": "tutor",
            "organisation_id": network["Students Lab"].id}
    page = client.get("/admin/utenti/nuovo").get_data(as_text=True)
    assert 'value="admin"' not in page and "Ala Milano" not in page
    assert client.post("/admin/utenti/nuovo", data={**base, "role": "admin"}).status_code == 422
    assert client.post("/admin/utenti/nuovo", data={**base, "role": "municipal_contact"}).status_code == 422
    assert client.post("/admin/utenti/nuovo",
                       data={**base, "organisation_id": network["Ala Milano"].id}).status_code == 422
    assert db.session.scalar(sa.select(User).where(User.email == base["email"])) is None
    assert client.post("/admin/utenti/nuovo", data=base).status_code == 303
    created = db.session.scalar(sa.select(User).where(User.email == base["email"]))
    assert created.organisation_id == network["Students Lab"].id and created.role == "tutor"


def test_htmx_create_answers_with_hx_redirect(client, login_as, network):
    login_as("admin")
    response = client.post("/admin/utenti/nuovo", headers=htmx(), data={
        "full_name": "Via Htmx", "email": "htmx@prova.test", "role": "observer",
        "organisation_id": network["Città Metropolitana"].id})
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/admin/utenti"
    invalid = client.post("/admin/utenti/nuovo", headers=htmx(), data={"full_name": ""})
    assert invalid.status_code == 422
    body = invalid.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="user-form">') and "<footer" not in body
    assert 'role="alert" tabindex="-1" id="form-errors" autofocus' in body  # focus follows the swap


# --- Edit and versions -----------------------------------------------------------------

def test_admin_edits_name_role_and_organisation(client, login_as, make_user, network):
    login_as("admin")
    target = make_user("tutor")
    page = client.get(f"/admin/utenti/{target.id}").get_data(as_text=True)
    assert f'name="version" type="hidden" value="{target.version}"' in page
    response = client.post(f"/admin/utenti/{target.id}", data=_form(
        target, full_name="Nome Cambiato", role="coordinator", organisation_id=network["Ala Milano"].id))
    assert response.status_code == 303
    db.session.refresh(target)
    assert (target.full_name, target.role, target.organisation_id) == (
        "Nome Cambiato", "coordinator", network["Ala Milano"].id)
    assert target.version == 2


def test_stale_form_gets_409_and_changes_nothing(app, client, login_as, make_user):
    login_as("admin")
    target = make_user("tutor", full_name="Originale")
    old_version = target.version
    # Someone else saves first.
    other = app.test_client()
    other_admin = make_user("admin")
    assert login(other, other_admin.email).status_code == 303
    assert other.post(f"/admin/utenti/{target.id}", data=_form(target, full_name="Prima modifica")).status_code == 303

    response = client.post(f"/admin/utenti/{target.id}",
                           data=_form(target, full_name="Seconda modifica", version=old_version))
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert STALE in body
    assert "<strong>Nome e cognome</strong>: Prima modifica" in body  # what is saved now
    assert "<strong>Ruolo</strong>" not in body  # unchanged fields are not listed
    assert 'value="Seconda modifica"' in body  # the person's input stays in the form
    assert f'name="version" type="hidden" value="{old_version + 1}"' in body
    db.session.refresh(target)
    assert target.full_name == "Prima modifica"
    assert target.version == old_version + 1
    # Saving again, now knowingly over the other change, is applied.
    again = client.post(f"/admin/utenti/{target.id}",
                        data=_form(target, full_name="Seconda modifica", version=old_version + 1))
    assert again.status_code == 303
    db.session.refresh(target)
    assert (target.full_name, target.version) == ("Seconda modifica", old_version + 2)


@pytest.mark.parametrize("version", ["", "abc", "0", "9" * 40])
def test_version_is_required(client, login_as, make_user, version):
    """A form without a usable version is broken, not stale: 422 with the message shown, nothing saved."""
    login_as("admin")
    target = make_user("tutor")
    response = client.post(f"/admin/utenti/{target.id}", data=_form(target, full_name="Senza versione",
                                                                      version=version))
    assert response.status_code == 422
    assert "Il modulo non indica la versione dei dati" in response.get_data(as_text=True)
    db.session.refresh(target)
    assert target.full_name != "Senza versione"


def test_signing_in_does_not_make_an_open_form_stale(app, client, login_as, make_user):
    login_as("admin")
    target = make_user("tutor")
    version = target.version
    assert login(app.test_client(), target.email).status_code == 303
    response = client.post(f"/admin/utenti/{target.id}", data=_form(target, full_name="Dopo accesso",
                                                                     version=version))
    assert response.status_code == 303


def test_nobody_changes_their_own_role(client, login_as):
    me = login_as("admin")
    response = client.post(f"/admin/utenti/{me.id}", data=_form(me, role="tutor"))
    assert response.status_code == 422
    assert "Non puoi cambiare il tuo ruolo" in response.get_data(as_text=True)
    db.session.refresh(me)
    assert me.role == "admin"
    # The name can change.
    assert client.post(f"/admin/utenti/{me.id}", data=_form(me, full_name="Nuovo Nome")).status_code == 303


# --- Coordinator scope -----------------------------------------------------------------------

@pytest.mark.parametrize("who", ["other_org_tutor", "own_org_contact", "admin"])
def test_coordinator_gets_404_outside_scope(client, login_as, make_user, network, who):
    login_as("coordinator")
    target = {
        "other_org_tutor": lambda: make_user("tutor", organisation=network["Ala Milano"]),
        "own_org_contact": lambda: make_user("municipal_contact", organisation=network["Students Lab"]),
        "admin": lambda: make_user("admin"),
    }[who]()
    before = (target.full_name, target.active, target.version)
    assert client.get(f"/admin/utenti/{target.id}").status_code == 404
    assert client.post(f"/admin/utenti/{target.id}", data=_form(target, full_name="Hack")).status_code == 404
    assert client.post(f"/admin/utenti/{target.id}/stato",
                       data={"active": "0", "version": target.version}).status_code == 404
    assert client.post(f"/admin/utenti/{target.id}/invito").status_code == 404
    assert client.get(f"/admin/utenti/{target.id}", headers=htmx()).status_code == 404
    db.session.refresh(target)
    assert (target.full_name, target.active, target.version) == before


def test_unknown_user_is_404(client, login_as):
    login_as("admin")
    assert client.get("/admin/utenti/424242").status_code == 404


def test_coordinator_cannot_promote_own_staff_to_admin(client, login_as, make_user):
    login_as("coordinator")
    target = make_user("operator")
    response = client.post(f"/admin/utenti/{target.id}", data=_form(target, role="admin"))
    assert response.status_code == 422
    db.session.refresh(target)
    assert target.role == "operator"
    assert client.post(f"/admin/utenti/{target.id}", data=_form(target, role="tutor")).status_code == 303


# --- Deactivation -------------------------------------------------------------------------

def test_deactivation_revokes_every_session_and_blocks_sign_in(app, client, login_as, make_user):
    login_as("admin")
    target = make_user("tutor")
    browser = app.test_client()
    assert login(browser, target.email).status_code == 303
    response = client.post(f"/admin/utenti/{target.id}/stato", data={"active": "0", "version": target.version})
    assert response.status_code == 303
    db.session.refresh(target)
    assert target.active is False
    open_sessions = db.session.scalar(sa.select(sa.func.count(UserSession.id)).where(
        UserSession.user_id == target.id, UserSession.revoked_at.is_(None)))
    assert open_sessions == 0
    assert browser.get("/").status_code == 302
    assert login(app.test_client(), target.email).status_code == 422
    # Reactivated, the person signs in again (old sessions stay dead).
    assert client.post(f"/admin/utenti/{target.id}/stato",
                       data={"active": "1", "version": target.version}).status_code == 303
    assert browser.get("/").status_code == 302
    assert login(app.test_client(), target.email).status_code == 303


def test_htmx_toggle_returns_the_row(client, login_as, make_user):
    login_as("coordinator")
    target = make_user("operator", full_name="Sara Colombo")
    response = client.post(f"/admin/utenti/{target.id}/stato", headers=htmx(),
                           data={"active": "0", "version": target.version})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith(f'<tr id="user-{target.id}">')
    assert "Disattivato" in body and "Riattiva" in body


def test_nobody_deactivates_themselves(client, login_as):
    me = login_as("admin")
    response = client.post(f"/admin/utenti/{me.id}/stato", data={"active": "0", "version": me.version},
                           headers=htmx())
    assert response.status_code == 422
    assert "Non puoi disattivare il tuo account." in response.get_data(as_text=True)
    db.session.refresh(me)
    assert me.active is True
    assert client.get("/").status_code == 200
    plain = client.post(f"/admin/utenti/{me.id}/stato", data={"active": "0", "version": me.version})
    assert plain.status_code == 303
    assert "Non puoi disattivare il tuo account." in client.get("/admin/utenti").get_data(as_text=True)


def test_stale_toggle_gets_409(client, login_as, make_user):
    login_as("admin")
    target = make_user("tutor")
    response = client.post(f"/admin/utenti/{target.id}/stato", headers=htmx(),
                           data={"active": "0", "version": target.version + 1})
    assert response.status_code == 409
    assert STALE in response.get_data(as_text=True)
    db.session.refresh(target)
    assert target.active is True


def test_the_last_active_admin_cannot_be_removed(app, make_user, network):
    first = make_user("admin", full_name="Prima Admin")
    second = make_user("admin", full_name="Seconda Admin")
    # The other administrator was deactivated meanwhile (e.g. by a concurrent request).
    db.session.execute(sa.update(User).where(User.id == first.id).values(active=False))
    db.session.commit()
    with app.test_request_context():
        with pytest.raises(Conflict, match="ultimo amministratore attivo"):
            services.set_user_active(first, second, False, second.version)
        with pytest.raises(Conflict, match="ultimo amministratore attivo"):
            services.update_user(first, second, full_name="Seconda Admin", role="tutor",
                                 organisation_id=second.organisation_id, version=second.version)
    db.session.rollback()
    db.session.refresh(second)
    assert second.active is True and second.role == "admin"


def test_an_admin_can_be_removed_while_another_remains(client, login_as, make_user):
    login_as("admin")
    other = make_user("admin")
    response = client.post(f"/admin/utenti/{other.id}/stato", data={"active": "0", "version": other.version})
    assert response.status_code == 303
    db.session.refresh(other)
    assert other.active is False


def test_resend_invitation_queues_a_new_link(client, login_as, make_user):
    login_as("admin")
    target = make_user("tutor")
    response = client.post(f"/admin/utenti/{target.id}/invito")
    assert response.status_code == 303
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id)).where(
        OutboxMessage.recipient == target.email)) == 1
