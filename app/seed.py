"""The real partner network (BRIEF) and the demo people. Idempotent: safe to run again."""

from __future__ import annotations

import base64
import hashlib

import sqlalchemy as sa

from app.extensions import db
from app.models import Organisation, OrganisationKind, Role, User

K = OrganisationKind

# ISTAT codes are left empty on purpose: the Ufficio di Piano fills them in from the
# official ISTAT list (Partner screen) rather than the demo guessing them.
NETWORK: list[dict] = [
    dict(name="Ufficio di Piano — Distretto Sociale Est Milano", short_name="Ufficio di Piano",
         kind=K.DISTRICT_OFFICE, istat_code=None,
         role_in_programme="Coordinamento e monitoraggio del progetto per il capofila",
         address="via C. Cattaneo 1, 20096 Pioltello (MI)", email="ufficiodipiano3@comune.pioltello.mi.it",
         phone="02 92366130"),
    dict(name="Comune di Pioltello", short_name="Pioltello", kind=K.MUNICIPALITY, istat_code=None,
         role_in_programme="Capofila, sede dell'Ufficio di Piano", is_lead=True,
         address="via C. Cattaneo 1, 20096 Pioltello (MI)"),
    dict(name="Comune di Vimodrone", short_name="Vimodrone", kind=K.MUNICIPALITY, istat_code=None,
         role_in_programme="Sportelli sul proprio territorio"),
    dict(name="Comune di Segrate", short_name="Segrate", kind=K.MUNICIPALITY, istat_code=None,
         role_in_programme="Sportelli sul proprio territorio"),
    dict(name="Comune di Rodano", short_name="Rodano", kind=K.MUNICIPALITY, istat_code=None,
         role_in_programme="Sportelli sul proprio territorio"),
    dict(name="Comune di Gessate", short_name="Gessate", kind=K.MUNICIPALITY, istat_code=None,
         role_in_programme="Sportelli sul proprio territorio"),
    dict(name="Comune di Cassina de' Pecchi", short_name="Cassina de' Pecchi", kind=K.MUNICIPALITY,
         istat_code=None, role_in_programme="Sportelli sul proprio territorio"),
    dict(name="Comune di Bussero", short_name="Bussero", kind=K.MUNICIPALITY, istat_code=None,
         role_in_programme="Sportelli sul proprio territorio"),
    dict(name="Associazione Students Lab", short_name="Students Lab", kind=K.ASSOCIATION, istat_code=None,
         role_in_programme="Orientamento, tutoraggio, peer-to-peer"),
    dict(name="Associazione Ala Milano", short_name="Ala Milano", kind=K.ASSOCIATION, istat_code=None,
         role_in_programme="Disagio giovanile, sportelli di ascolto"),
    dict(name="Fondazione Somaschi", short_name="Somaschi", kind=K.FOUNDATION, istat_code=None,
         role_in_programme="Fragilità, sostegno contro la violenza di genere"),
    dict(name="Città Metropolitana di Milano", short_name="Città Metropolitana", kind=K.METROPOLITAN_AUTHORITY,
         istat_code=None, role_in_programme="Indirizzo e monitoraggio"),
]

DEMO_PASSWORD = "hub-demo-2026"

# e-mail, full name, role, organisation short name
DEMO_PEOPLE: list[tuple[str, str, str, str]] = [
    ("admin@hub.test", "Giulia Ferrari", Role.ADMIN, "Ufficio di Piano"),
    ("coordinatore@hub.test", "Marco Bianchi", Role.COORDINATOR, "Students Lab"),
    ("operatore@hub.test", "Sara Colombo", Role.OPERATOR, "Students Lab"),
    ("tutor@hub.test", "Luca Rossi", Role.TUTOR, "Students Lab"),
    ("comune@hub.test", "Paola Galli", Role.MUNICIPAL_CONTACT, "Rodano"),
    ("osservatore@hub.test", "Andrea Conti", Role.OBSERVER, "Città Metropolitana"),
    # More of the network, so screens are not empty.
    ("coordinatrice.ala@hub.test", "Elena Ricci", Role.COORDINATOR, "Ala Milano"),
    ("coordinatrice.somaschi@hub.test", "Chiara Moretti", Role.COORDINATOR, "Somaschi"),
    ("tutor2@hub.test", "Francesca Marino", Role.TUTOR, "Students Lab"),
    ("tutor.ala@hub.test", "Davide Greco", Role.TUTOR, "Ala Milano"),
    ("tutor.somaschi@hub.test", "Valentina Bruno", Role.TUTOR, "Somaschi"),
    ("operatore.rodano@hub.test", "Matteo Gallo", Role.OPERATOR, "Ala Milano"),
    ("operatore.pioltello@hub.test", "Alessia Costa", Role.OPERATOR, "Somaschi"),
    ("comune.pioltello@hub.test", "Roberto Fontana", Role.MUNICIPAL_CONTACT, "Pioltello"),
    ("comune.segrate@hub.test", "Laura Caruso", Role.MUNICIPAL_CONTACT, "Segrate"),
]

DEMO_ACCOUNTS = DEMO_PEOPLE[:6]

# Demo mode only: every demo person comes with an authenticator already set up, with these FIXED,
# published secrets (base32), so anyone trying the demo can add them to an app or run
# `flask demo-code EMAIL`. Never use them on a real installation.
DEMO_TOTP_SECRETS: dict[str, str] = {
    "admin@hub.test": "HUBDEMOADMINTOTPSECRETAAAAAAAAAA",
    "coordinatore@hub.test": "HUBDEMOCOORDINATORETOTPSECRETAAA",
    "operatore@hub.test": "HUBDEMOOPERATORETOTPSECRETAAAAAA",
    "tutor@hub.test": "HUBDEMOTUTORTOTPSECRETAAAAAAAAAA",
    "comune@hub.test": "HUBDEMOCOMUNETOTPSECRETAAAAAAAAA",
    "osservatore@hub.test": "HUBDEMOOSSERVATORETOTPSECRETAAAA",
}


def demo_totp_secret(email: str) -> str:
    """The fixed secret of a demo person: listed above, or derived from the address for the others."""
    if email in DEMO_TOTP_SECRETS:
        return DEMO_TOTP_SECRETS[email]
    digest = hashlib.sha256(f"hub-demo-totp:{email}".encode()).digest()
    return base64.b32encode(digest).decode()[:32]


def seed_network() -> dict[str, Organisation]:
    """Create or update the partner organisations; returns them by short name."""
    by_short: dict[str, Organisation] = {}
    existing = {org.name: org for org in db.session.scalars(
        sa.select(Organisation).where(Organisation.name.in_([entry["name"] for entry in NETWORK])))}
    for entry in NETWORK:
        org = existing.get(entry["name"])
        if org is None:
            org = Organisation(**entry)
            db.session.add(org)
        else:
            for key, value in entry.items():
                setattr(org, key, value)
        by_short[entry["short_name"]] = org
    db.session.flush()
    return by_short


def seed_demo_people(orgs: dict[str, Organisation], password_hash: str) -> list[User]:
    """Create the demo accounts that are missing (existing ones keep their password).

    Each one without an authenticator gets one with its fixed demo secret (DEMO_TOTP_SECRETS).
    """
    from app.auth.two_factor import enrol_with_secret, has_second_factor

    users = []
    for email, name, role, org_short in DEMO_PEOPLE:
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is None:
            user = User(email=email, full_name=name, role=role,
                        organisation_id=orgs[org_short].id, password_hash=password_hash)
            db.session.add(user)
            db.session.flush()
        if not has_second_factor(user):  # new, or from before two-factor sign-in, or reset
            enrol_with_secret(user, demo_totp_secret(email))
        users.append(user)
    db.session.flush()
    return users
