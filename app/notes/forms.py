"""Reading the note editor's form (a grid of outcomes, checkboxes, texts) and the small forms."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from app.domain import numbers
from app.domain.errors import Invalid
from app.models import OUTCOMES, PROGRESS, REFERRALS
from app.notes.services import MAX_ADDENDUM_CHARS, NoteData


def parse_note(form) -> tuple[NoteData, int]:
    """The editor's fields as NoteData, and the revision the page started from (0 for a new note)."""
    outcomes = {}
    for number in OUTCOMES:
        if form.get(f"outcome_{number}"):
            progress = form.get(f"progress_{number}", "avviato")
            outcomes[number] = progress if progress in PROGRESS else "avviato"
    data = NoteData(
        outcomes=outcomes, topics=form.get("topics", ""), summary=form.get("summary", ""),
        agreements=form.get("agreements", ""),
        referrals=[c for c in form.getlist("referrals") if c in REFERRALS],
        referral_other=form.get("referral_other", ""), needs_attention=bool(form.get("needs_attention")),
    )
    revision = max(0, numbers.int_or_none(form.get("revision", "0")) or 0)
    return data, revision


# A session note's text field is a few paragraphs; the bound keeps a pasted file or a hostile 1 MB value
# out of the database (and out of the PDF), well above anything a tutor writes.
MAX_NOTE_TEXT_CHARS = 50_000


def too_long(data: NoteData) -> Invalid | None:
    """The refusal for a text field over the bound, or None."""
    for name in ("topics", "summary", "agreements"):
        if len(getattr(data, name)) > MAX_NOTE_TEXT_CHARS:
            return Invalid(_("Il testo è troppo lungo: al massimo %(n)s caratteri per campo. Accorcialo e riprova.",
                             n=f"{MAX_NOTE_TEXT_CHARS:,}".replace(",", ".")), field=name)
    return None


class AddendumForm(FlaskForm):
    """A dated addendum to a final note."""

    text = TextAreaField(_l("Testo dell'integrazione"), validators=[
        InputRequired(_l("Scrivi il testo dell'integrazione.")),
        Length(max=MAX_ADDENDUM_CHARS, message=_l("Al massimo %(max)d caratteri."))])


class BreakGlassForm(FlaskForm):
    """The written reason the Ufficio di Piano gives to open a note."""

    reason = StringField(_l("Motivo dell'accesso straordinario"), validators=[
        InputRequired(_l("Scrivi il motivo: resta nel registro attività.")),
        Length(min=15, max=500, message=_l("Scrivi un motivo di almeno 15 caratteri (al massimo 500)."))])
