"""Session notes: the tutor's editor with autosave, finalise-and-lock, archived PDFs, addenda, audited reads."""

from flask import Blueprint
from markupsafe import Markup, escape

bp = Blueprint("notes", __name__)


@bp.app_template_filter("paragraphs")
def paragraphs(text: str | None) -> Markup:
    """Plain text as HTML paragraphs: escaped first, blank lines split paragraphs, newlines become <br>."""
    blocks = [b for b in (text or "").replace("\r\n", "\n").split("\n\n") if b.strip()]
    return Markup("").join(
        Markup("<p>{}</p>").format(Markup("<br>").join(escape(line) for line in block.strip().split("\n")))
        for block in blocks)


from app.notes import routes  # noqa: E402,F401
