"""Structured logs: one JSON object a line, a request id, no personal data."""

from __future__ import annotations

import json
import logging
import secrets
import time

from flask import Flask, g, has_request_context, request


class JsonFormatter(logging.Formatter):
    """Format records as JSON. Only method, endpoint and status: never form data or e-mails."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + "Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if has_request_context():
            entry["request_id"] = getattr(g, "request_id", None)
            entry["endpoint"] = request.endpoint
            entry["method"] = request.method
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        for key in ("status", "duration_ms", "user_id"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        return json.dumps(entry, ensure_ascii=False)


def init_app(app: Flask) -> None:
    """Install the JSON handler and the request-id and access-log hooks."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    app.logger.handlers[:] = [handler]
    app.logger.setLevel(logging.INFO)
    app.logger.propagate = False
    access = logging.getLogger("hub.access")
    access.handlers[:] = [handler]
    access.setLevel(logging.INFO if not app.testing else logging.WARNING)
    access.propagate = False

    @app.before_request
    def assign_request_id():
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if incoming.isalnum() and len(incoming) <= 64 else secrets.token_hex(8)
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response):
        response.headers["X-Request-Id"] = getattr(g, "request_id", "")
        if request.endpoint and request.endpoint.endswith("static"):
            return response
        started = getattr(g, "request_started", None)
        duration = round((time.perf_counter() - started) * 1000, 1) if started else None
        access.info(
            "%s %s", request.method, request.url_rule.rule if request.url_rule else "-",
            extra={"status": response.status_code, "duration_ms": duration},
        )
        return response
