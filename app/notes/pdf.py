"""Note PDFs: HTML from a Jinja template (user text escaped), rendered by a limited child process.

`render_pdf(html)` runs `render_worker.py` with `python -I` (no app code, a minimal
environment), a wall-clock timeout (NOTES_RENDER_TIMEOUT seconds, the child is killed
after it), an address-space limit (NOTES_RENDER_MEMORY_MB, RLIMIT_AS set in the child)
and a URL fetcher that serves only files inside app/static. Any failure raises
RenderFailed with an Italian message; the caller leaves the note as it was.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from app.domain.errors import DomainError

WORKER = Path(__file__).with_name("render_worker.py")
DEFAULT_TIMEOUT = 30
DEFAULT_MEMORY_MB = 1024
# PDF/A-2a: archival (PDF/A-2) at level A, i.e. tagged and with Unicode text (checked with pdfinfo -meta).
PDF_VARIANT = "pdf/a-2a"

LETTERHEAD = {
    "office": "Ufficio di Piano — Distretto Sociale Est Milano",
    "address": "via C. Cattaneo 1, 20096 Pioltello (MI)",
    "lead": "Comune di Pioltello, ente capofila",
    "programme": "L'Hub dei Talenti",
}

FONT_FILES = (
    ("Titillium Web", 400, "normal", "Titillium_Web/titillium-web-v10-latin-ext_latin-regular.woff2"),
    ("Titillium Web", 400, "italic", "Titillium_Web/titillium-web-v10-latin-ext_latin-italic.woff2"),
    ("Titillium Web", 600, "normal", "Titillium_Web/titillium-web-v10-latin-ext_latin-600.woff2"),
    ("Titillium Web", 700, "normal", "Titillium_Web/titillium-web-v10-latin-ext_latin-700.woff2"),
)


class RenderFailed(DomainError):
    """The PDF could not be produced (too big, too slow, or broken): nothing was changed."""

    status_code = 422


def static_root() -> Path:
    """The only folder the renderer may read from."""
    return Path(current_app.static_folder).resolve()


def font_faces() -> list[dict]:
    """@font-face sources as file:// URLs inside the static folder (the fetcher allows exactly those)."""
    fonts = static_root() / "vendor" / "bootstrap-italia" / "fonts"
    return [dict(family=family, weight=weight, style=style, url=(fonts / path).as_uri())
            for family, weight, style, path in FONT_FILES]


def render_html(template: str, **context) -> str:
    """The PDF's HTML from a template in app/templates/pdf/ (autoescaped)."""
    # Straight from the environment: no context processors (no current user, no request needed).
    return current_app.jinja_env.get_template(template).render(letterhead=LETTERHEAD, fonts=font_faces(), **context)


def render_pdf(html: str) -> tuple[bytes, str]:
    """Render HTML to PDF in a child process under time and memory limits; (bytes, variant) or RenderFailed."""
    return _run(html.encode("utf-8"), float(current_app.config.get("NOTES_RENDER_TIMEOUT", DEFAULT_TIMEOUT)))


def render_many(documents: list[str]) -> tuple[list[bytes], str]:
    """Render several documents in one child (demo data): the time limit grows with their number."""
    import json

    timeout = float(current_app.config.get("NOTES_RENDER_TIMEOUT", DEFAULT_TIMEOUT)) + 3 * len(documents)
    data, variant = _run(json.dumps(documents).encode("utf-8"), timeout, batch=True)
    pdfs, offset = [], 0
    while offset < len(data):
        size = int.from_bytes(data[offset:offset + 8], "big")
        pdfs.append(data[offset + 8:offset + 8 + size])
        offset += 8 + size
    return pdfs, variant


def _run(payload: bytes, timeout: float, *, batch: bool = False) -> tuple[bytes, str]:
    config = current_app.config
    memory_mb = int(config.get("NOTES_RENDER_MEMORY_MB", DEFAULT_MEMORY_MB))
    variant = config.get("NOTES_PDF_VARIANT", PDF_VARIANT)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": tempfile.gettempdir()}
    command = [sys.executable, "-I", str(WORKER), str(static_root()), str(memory_mb), str(int(timeout) + 1), variant,
               *(["batch"] if batch else [])]
    started = time.monotonic()
    try:
        result = subprocess.run(command, input=payload, capture_output=True, timeout=timeout,
                                env=env, check=False)
    except subprocess.TimeoutExpired:
        current_app.logger.warning("note PDF render exceeded %.0f s and was stopped", timeout)
        raise RenderFailed(_("Il PDF non è stato generato: il testo è troppo lungo o complesso e la preparazione "
                             "ha superato il tempo massimo. La nota resta in bozza e il testo è al sicuro: "
                             "accorciala e riprova.")) from None
    elapsed = time.monotonic() - started
    if result.returncode != 0 or not (batch or result.stdout.startswith(b"%PDF")):
        # stderr carries only the worker's own short message (never the note's text).
        current_app.logger.warning("note PDF render failed (exit %s after %.1f s): %s", result.returncode, elapsed,
                                   result.stderr[-200:].decode("utf-8", "replace").strip().splitlines()[-1:])
        raise RenderFailed(_("Il PDF non è stato generato: la nota è troppo grande o contiene qualcosa che non si "
                             "riesce a impaginare. La nota resta in bozza e il testo è al sicuro: accorciala e "
                             "riprova."))
    return result.stdout, variant


def sha256(data: bytes) -> str:
    """Hex SHA-256 of bytes."""
    return hashlib.sha256(data).hexdigest()


class ArchiveUnavailable(RenderFailed):
    """The archive folder cannot be written (permissions, missing mount, disk full): nothing was changed."""

    status_code = 503


def _archive_unavailable(error: OSError) -> ArchiveUnavailable:
    current_app.logger.error("note archive not writable: %s", type(error).__name__)
    return ArchiveUnavailable(_("Il PDF non è stato archiviato: la cartella dell'archivio non è scrivibile o il "
                                "disco è pieno. La nota resta in bozza e il testo è al sicuro: avvisa "
                                "l'assistenza tecnica e riprova più tardi."))


def archive_write(relative: str, data: bytes) -> Path:
    """Write bytes into the archive atomically (temporary file, fsync, rename); owner-only permissions.

    Raises ArchiveUnavailable (a clear message, 503) when the folder cannot be written.
    """
    target = Path(current_app.config["ARCHIVE_DIR"]) / relative
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".pdf")
    except OSError as error:
        raise _archive_unavailable(error) from error
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        raise _archive_unavailable(error) from error
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def archive_read(relative: str) -> bytes:
    """The archived bytes (FileNotFoundError when missing)."""
    return (Path(current_app.config["ARCHIVE_DIR"]) / relative).read_bytes()


def archive_remove(relative: str) -> None:
    """Remove an archived file written by a transaction that did not commit."""
    (Path(current_app.config["ARCHIVE_DIR"]) / relative).unlink(missing_ok=True)
