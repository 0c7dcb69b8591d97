"""Privacy area routes: thin, the use cases are in services.py."""

from __future__ import annotations

from app.privacy import bp  # noqa: F401
