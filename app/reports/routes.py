"""Reports area routes: thin, the indicators are computed in indicators.py (by the database)."""

from __future__ import annotations

from app.reports import bp  # noqa: F401
