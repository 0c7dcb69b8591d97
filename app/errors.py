"""Error pages: the same look as the app, or a compact fragment for htmx."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.domain.errors import DomainError


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Richiesta non valida"), _("La richiesta non è stata compresa. Controlla i dati e riprova.")),
        401: (_("Accesso richiesto"), _("Per continuare accedi con il tuo account.")),
        403: (_("Accesso negato"), _("Non hai i permessi per vedere questa pagina o fare questa operazione.")),
        404: (_("Pagina non trovata"), _("La pagina cercata non esiste o non è tra quelle che puoi vedere.")),
        405: (_("Operazione non consentita"), _("Questa operazione non è disponibile a questo indirizzo.")),
        409: (_("Conflitto"), _("Qualcun altro ha modificato questi dati nel frattempo. Ricarica la pagina e riprova.")),
        413: (_("Contenuto troppo grande"), _("I dati inviati superano la dimensione massima consentita.")),
        422: (_("Dati non validi"), _("Alcuni dati non sono validi. Correggili e riprova.")),
        429: (_("Troppi tentativi"), _("Hai fatto troppe richieste in poco tempo. Attendi qualche minuto e riprova.")),
        500: (_("Errore del sistema"), _("Si è verificato un errore imprevisto. Il problema è stato registrato; riprova tra poco.")),
        503: (_("Servizio non disponibile"), _("Il servizio è momentaneamente non disponibile. Riprova tra poco.")),
    }


def render_error(status: int, message: str | None = None):
    """Render the error page (or fragment for htmx) for a status code."""
    title, default_message = _messages().get(status, (_("Errore"), _("Si è verificato un errore.")))
    template = "errors/_error.html" if request.headers.get("HX-Request") == "true" else "errors/error.html"
    body = render_template(template, status=status, title=title, message=message or default_message)
    return body, status


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400,
            _("Il modulo è scaduto o non è stato inviato da questa applicazione. "
              "Ricarica la pagina e invia di nuovo."),
        )

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        return render_error(error.status_code, error.message)

    @app.errorhandler(StaleDataError)
    def stale_data(error: StaleDataError):
        # Safety net for a version-checked row (version_id_col) changed by someone else between our read
        # and our write: nothing of ours was written (rolled back); the generic conflict answer, not a 500.
        from app.extensions import db

        db.session.rollback()
        app.logger.info("stale write refused on %s %s: %s", request.method, request.endpoint, error)
        return render_error(409)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        response = error.get_response()
        body, status = render_error(error.code, None if error.code != 429 else None)
        response.set_data(body)
        response.status_code = status
        response.content_type = "text/html; charset=utf-8"
        return response

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        if isinstance(error, HTTPException):
            return http_error(error)
        app.logger.exception("unhandled error on %s %s", request.method, request.endpoint)
        try:
            from app.extensions import db

            db.session.rollback()
        except Exception:  # pragma: no cover - database already gone
            app.logger.warning("rollback after error failed")
        if _is_database_outage(error):
            from flask import g

            from app.extensions import login_manager

            # The page must not ask the unreachable database who is signed in (a second failure → bare 500).
            g._login_user = login_manager.anonymous_user()
            return render_error(503)
        return render_error(InternalServerError.code)


def _is_database_outage(error: Exception) -> bool:
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    # A dropped connection, or one that cannot be opened (server down or restarting): 503, not 500.
    return isinstance(error, DBAPIError) and (
        bool(error.connection_invalidated) or isinstance(error, OperationalError | InterfaceError))
