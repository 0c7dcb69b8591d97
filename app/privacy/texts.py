"""The consent wordings in force, by version (the same text migration 0009 stores in consent_texts).

The registration form's consent boxes refer to the version named by
`app.people.services.PRIVACY_TEXT_VERSION`; a new wording is a new entry here,
never an edit of a published one (the records point at the version they were given on).
"""

from __future__ import annotations

from datetime import date

# The version the public notice (main/privacy.html) shows; the same as PRIVACY_TEXT_VERSION of the forms.
CURRENT_VERSION = "2026-01"

TEXTS: dict[str, dict] = {
    "2026-01": {
        "title": "Informativa e consensi per i giovani e le famiglie — L'Hub dei Talenti",
        "effective_from": date(2026, 1, 1),
        "body": (
            "Titolare del trattamento è il Comune di Pioltello, capofila del progetto «L'Hub dei Talenti», tramite "
            "l'Ufficio di Piano — Distretto Sociale Est Milano (via C. Cattaneo 1, 20096 Pioltello MI).\n\n"
            "I dati (nome, data di nascita, comune, recapiti, condizione di studio o lavoro, appuntamenti e note "
            "dei colloqui) servono a organizzare orientamento, tutoraggio e ascolto. Le note possono contenere dati "
            "di natura particolare (salute, disagio, violenza) indispensabili al percorso.\n\n"
            "Con la spunta «Ho letto l'informativa privacy alla persona e ho raccolto il consenso» l'operatore "
            "attesta di aver letto questa informativa alla persona e di averne raccolto il consenso al trattamento, "
            "compresi i dati di natura particolare. Sotto i 14 anni il consenso è dato da un genitore o da chi ne fa "
            "le veci, di cui si registrano nome e recapito.\n\n"
            "Il consenso si può revocare in ogni momento rivolgendosi allo sportello o all'Ufficio di Piano; la "
            "revoca non rende illecito il trattamento già svolto. Restano i diritti di accesso, rettifica, "
            "cancellazione, limitazione, portabilità e opposizione, e il reclamo al Garante per la protezione dei "
            "dati personali."
        ),
    },
}
