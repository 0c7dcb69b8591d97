"""Probes for load balancers and systemd: readiness (liveness is main.healthz)."""

from __future__ import annotations

from flask import current_app, jsonify

from app.ops import bp, readiness
from app.policy import public


@bp.get("/readyz")
@public
def readyz():
    """Readiness: 200 when the database answers and migrations are at head, 503 with a reason otherwise."""
    ready, reason = readiness.check(current_app.config["BASE_DIR"])
    if not ready:
        current_app.logger.warning("not ready: %s", reason)
        return jsonify(status="error", reason=reason), 503
    return jsonify(status="ok", database="ok", migrations="head")
