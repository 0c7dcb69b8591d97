"""Browser security policy (headers on every response) and the first line against hostile input."""

from __future__ import annotations

from flask import Flask, Request, request
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.routing import IntegerConverter

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: ids are 32-bit database keys, so a larger number is simply not found (404)
    instead of reaching the database driver (SQLite raises on integers beyond 64 bits)."""

    def __init__(self, map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):  # noqa: A002 - Werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _without_nul(value):
    return value.replace("\x00", "") if isinstance(value, str) else value


class TextWithoutNul(ImmutableMultiDict):
    """Query-string and form values with NUL bytes removed. No text a person types holds one, no column
    can store one (PostgreSQL refuses them in any query: a NUL in the sign-in e-mail was a 500), so they
    never reach a view, a query or a template."""

    def __init__(self, mapping=None):
        if mapping is not None:
            if isinstance(mapping, MultiDict):
                pairs = list(mapping.items(multi=True))
            elif isinstance(mapping, dict):
                pairs = [(k, item) for k, v in mapping.items()
                         for item in (v if isinstance(v, list | tuple) else [v])]
            else:
                pairs = list(mapping)
            mapping = [(_without_nul(k), _without_nul(v)) for k, v in pairs]
        super().__init__(mapping)


class HubRequest(Request):
    """The request of every view: query and form values without NUL bytes."""

    parameter_storage_class = TextWithoutNul


def init_app(app: Flask) -> None:
    """Bound the ids in addresses, clean NUL bytes from input; add the security headers to every response."""
    app.url_map.converters["int"] = IdConverter  # before any blueprint adds its routes
    app.request_class = HubRequest

    @app.after_request
    def add_security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("HSTS"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if not (request.endpoint or "").endswith("static"):
            # Pages of an intranet with minors' data are never stored by browsers or proxies (error
            # pages too: they carry the signed-in person's name and menu).
            headers.setdefault("Cache-Control", "no-store")
            # The same address answers a page or an htmx fragment (errors too): caches must keep them apart.
            headers.add("Vary", "HX-Request")
        return response
