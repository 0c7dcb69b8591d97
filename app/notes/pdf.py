"""Note PDFs: HTML from a Jinja template (user text escaped), rendered by a limited child process.

`render_pdf(html)` hands the HTML to `render_worker.py`, run with `python -I` (no app code,
a minimal environment), under a wall-clock timeout (NOTES_RENDER_TIMEOUT seconds, the
rendering process is killed after it), an address-space limit (NOTES_RENDER_MEMORY_MB,
RLIMIT_AS) and a CPU limit, with a URL fetcher that serves only files inside app/static.

Each app process keeps one warm renderer (a "zygote": `render_worker.py --serve`, started
at the first render, WeasyPrint imported and fonts loaded once) that forks a grandchild per
PDF; the grandchild applies the limits, renders and exits, the zygote kills it at the
timeout. A dead zygote is replaced once; after a fork of the app process (gunicorn
--preload) the child starts its own. If the zygote cannot start, or another thread of this
process is rendering, the PDF is rendered by a one-shot worker process as before. Any
failure raises RenderFailed with an Italian message; the caller leaves the note as it was.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import select
import subprocess
import sys
import tempfile
import threading
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
# The zygote's own address-space limit (Python + WeasyPrint + warm caches); each PDF gets NOTES_RENDER_MEMORY_MB.
ZYGOTE_MEMORY_MB = 2048
ZYGOTE_START_TIMEOUT = 60  # seconds for the zygote's imports and warm-up render
ZYGOTE_GRACE = 10  # seconds beyond the render timeout before the zygote itself is deemed stuck
ZYGOTE_RETRY_AFTER = 60  # seconds without trying to start a zygote after one failed to start
TIMED_OUT = 124  # render_worker.TIMED_OUT (the worker is never imported by the app)

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


def _worker_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": tempfile.gettempdir()}


class ZygoteUnavailable(Exception):
    """The warm renderer could not be started, died, or stopped answering."""


class ZygoteStuck(ZygoteUnavailable):
    """No answer within the time limit (plus a grace period): the zygote is killed."""


class Zygote:
    """One warm renderer (`render_worker.py --serve`) owned by the process that started it."""

    def __init__(self, static: Path, memory_mb: int, variant: str, warm_html: str):
        self.key = (str(static), memory_mb)
        self.owner = os.getpid()
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(WORKER), "--serve", str(static), str(memory_mb), variant],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=_worker_env(), bufsize=0)
        self.pid = self.process.pid
        try:
            self._send(warm_html.encode("utf-8"))
            status, _data = self._receive(ZYGOTE_START_TIMEOUT)
            if status != 0:
                raise ZygoteUnavailable(f"warm-up answered {status}")
        except ZygoteUnavailable:
            self.close()
            raise

    def alive(self) -> bool:
        return self.process.poll() is None

    def render(self, header: dict, payload: bytes, timeout: float) -> tuple[int, bytes]:
        """(status, data) of one job; ZygoteUnavailable when the zygote is gone or stuck (it is then killed)."""
        try:
            self._send(json.dumps(header).encode("utf-8"), payload)
            return self._receive(timeout + ZYGOTE_GRACE)
        except ZygoteUnavailable:
            self.close()
            raise

    def _send(self, *frames: bytes) -> None:
        fd = self.process.stdin.fileno()
        try:
            for frame in frames:
                view = memoryview(len(frame).to_bytes(8, "big") + frame)
                while view:
                    view = view[os.write(fd, view):]
        except OSError as error:  # BrokenPipeError: the zygote is gone
            raise ZygoteUnavailable(type(error).__name__) from error

    def _receive(self, timeout: float) -> tuple[int, bytes]:
        fd, deadline = self.process.stdout.fileno(), time.monotonic() + timeout
        poller = select.poll()
        poller.register(fd, select.POLLIN)

        def read(size: int) -> bytes:
            chunks = []
            while size:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not poller.poll(max(1, int(remaining * 1000))):
                    raise ZygoteStuck("no answer in time")
                chunk = os.read(fd, min(size, 1 << 20))
                if not chunk:
                    raise ZygoteUnavailable("closed")
                chunks.append(chunk)
                size -= len(chunk)
            return b"".join(chunks)

        head = read(12)
        return int.from_bytes(head[:4], "big", signed=True), read(int.from_bytes(head[4:], "big"))

    def close(self) -> None:
        """Stop the zygote (only its owner may: a forked child just lets go of the inherited pipes)."""
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        if self.owner == os.getpid():
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
        else:
            self.process.returncode = 0  # not our child: never wait for it


_zygote: Zygote | None = None
_zygote_lock = threading.Lock()
_zygote_failed_at: float | None = None


def _after_fork_in_child() -> None:
    """A forked app process (gunicorn --preload) never uses its parent's zygote or lock."""
    global _zygote, _zygote_lock
    _zygote_lock = threading.Lock()
    if _zygote is not None:
        _zygote.close()
        _zygote = None


os.register_at_fork(after_in_child=_after_fork_in_child)


def zygote_pid() -> int | None:
    """The pid of this process's warm renderer, if one is running."""
    zygote = _zygote
    return zygote.pid if zygote is not None and zygote.owner == os.getpid() and zygote.alive() else None


def shutdown_zygote() -> None:
    """Stop this process's warm renderer (it is started again at the next render)."""
    global _zygote, _zygote_failed_at
    with _zygote_lock:
        if _zygote is not None:
            _zygote.close()
        _zygote, _zygote_failed_at = None, None


atexit.register(shutdown_zygote)


def _warm_html() -> str:
    """A small document with the PDF templates' features (fonts, margin boxes, page counters, flex, tables)."""
    faces = "".join(f'@font-face {{ font-family: "{f["family"]}"; font-weight: {f["weight"]}; font-style: '
                    f'{f["style"]}; src: url("{f["url"]}") format("woff2"); }}' for f in font_faces())
    return ('<!doctype html><html lang="it"><head><meta charset="utf-8"><title>Avvio</title>'
            '<meta name="author" content="Hub dei Talenti"><style>' + faces +
            '@page { size: A4; margin: 22mm 20mm; font-family: "Titillium Web", "DejaVu Sans", sans-serif; '
            '@top-left { content: string(office); font-size: 7.5pt; } '
            '@bottom-left { content: "Impronta\\A Generato"; white-space: pre; font-size: 6.5pt; } '
            '@bottom-right { content: "Pagina " counter(page) " di " counter(pages); font-size: 8pt; } } '
            '@page :first { @top-left { content: none; } } '
            'html { font-family: "Titillium Web", "DejaVu Sans", sans-serif; font-size: 10pt; line-height: 1.4; } '
            '.head { display: flex; justify-content: space-between; border-bottom: 2pt solid #0066cc; } '
            '.office { string-set: office content(); font-weight: 700; } h1 { font-weight: 700; } '
            'table { width: 100%; border-collapse: collapse; } th { font-weight: 600; background: #f2f7fc; '
            'border: 0.5pt solid #d9dadb; } td { border-bottom: 0.5pt solid #d9dadb; } .text { overflow-wrap: '
            'anywhere; } em { font-style: italic; } p { orphans: 3; widows: 3; }</style></head><body>'
            '<header class="head"><p class="office">Avvio</p><p>Città <strong>attività</strong></p></header>'
            '<h1>Prova</h1><table><caption>Prova</caption><tr><th scope="row">Voce</th><td>1</td></tr></table>'
            '<p class="text">Perché è già così? <em>Sì, è pronta</em> — «citazione» € 1.</p></body></html>')


def _current_zygote(static: Path, memory_mb: int, variant: str) -> Zygote | None:
    """This process's live zygote, started if needed (None if it cannot start). Call with the lock held."""
    global _zygote, _zygote_failed_at
    key = (str(static), memory_mb)
    if _zygote is not None and (_zygote.owner != os.getpid() or _zygote.key != key or not _zygote.alive()):
        _zygote.close()
        _zygote = None
    if _zygote is None:
        if _zygote_failed_at is not None and time.monotonic() - _zygote_failed_at < ZYGOTE_RETRY_AFTER:
            return None
        try:
            _zygote = Zygote(static, memory_mb, variant, _warm_html())
            _zygote_failed_at = None
        except (OSError, ZygoteUnavailable) as error:
            current_app.logger.warning("PDF renderer could not start (%s): one process per PDF", error)
            _zygote_failed_at = time.monotonic()
            return None
    return _zygote


def _render_in_zygote(header: dict, payload: bytes, timeout: float) -> tuple[int, bytes] | None:
    """(status, data) from this process's zygote; None when it cannot be used (the caller renders one-shot)."""
    global _zygote
    if not current_app.config.get("NOTES_RENDER_ZYGOTE", True):
        return None
    lock = _zygote_lock
    if not lock.acquire(blocking=False):  # another thread is rendering: do not queue behind it
        return None
    try:
        memory_mb = max(ZYGOTE_MEMORY_MB, int(header["memory_mb"]))
        for attempt in range(2):  # a dead zygote is replaced once
            zygote = _current_zygote(static_root(), memory_mb, header["variant"])
            if zygote is None:
                return None
            try:
                return zygote.render(header, payload, timeout)
            except ZygoteUnavailable as error:
                current_app.logger.warning("PDF renderer %s lost (%s)%s", zygote.pid, error,
                                           ", starting another" if attempt == 0 else "")
                _zygote = None
                if isinstance(error, ZygoteStuck):
                    return TIMED_OUT, b"zygote stuck"
        return None
    finally:
        lock.release()


def _render_one_shot(payload: bytes, timeout: float, header: dict, *, batch: bool) -> tuple[int, bytes]:
    """(status, data) from a fresh worker process that limits itself (the renderer before the zygote)."""
    command = [sys.executable, "-I", str(WORKER), str(static_root()), str(header["memory_mb"]),
               str(header["cpu_seconds"]), header["variant"], *(["batch"] if batch else [])]
    try:
        result = subprocess.run(command, input=payload, capture_output=True, timeout=timeout,
                                env=_worker_env(), check=False)
    except subprocess.TimeoutExpired:
        return TIMED_OUT, b"timed out"
    return result.returncode, result.stdout if result.returncode == 0 else result.stderr[-200:]


def _run(payload: bytes, timeout: float, *, batch: bool = False) -> tuple[bytes, str]:
    config = current_app.config
    variant = config.get("NOTES_PDF_VARIANT", PDF_VARIANT)
    header = {"memory_mb": int(config.get("NOTES_RENDER_MEMORY_MB", DEFAULT_MEMORY_MB)),
              "cpu_seconds": int(timeout) + 1, "timeout": timeout, "variant": variant, "batch": batch}
    started = time.monotonic()
    outcome = _render_in_zygote(header, payload, timeout)
    if outcome is None:
        outcome = _render_one_shot(payload, timeout, header, batch=batch)
    status, data = outcome
    if status == TIMED_OUT:
        current_app.logger.warning("note PDF render exceeded %.0f s and was stopped", timeout)
        raise RenderFailed(_("Il PDF non è stato generato: il testo è troppo lungo o complesso e la preparazione "
                             "ha superato il tempo massimo. La nota resta in bozza e il testo è al sicuro: "
                             "accorciala e riprova."))
    elapsed = time.monotonic() - started
    if status != 0 or not (batch or data.startswith(b"%PDF")):
        # The worker's own short message only (never the note's text).
        current_app.logger.warning("note PDF render failed (exit %s after %.1f s): %s", status, elapsed,
                                   data[-200:].decode("utf-8", "replace").strip().splitlines()[-1:]
                                   if status != 0 else "not a PDF")
        raise RenderFailed(_("Il PDF non è stato generato: la nota è troppo grande o contiene qualcosa che non si "
                             "riesce a impaginare. La nota resta in bozza e il testo è al sicuro: accorciala e "
                             "riprova."))
    return data, variant


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
