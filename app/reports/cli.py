"""`flask reports-warm`: compute the default monitoring dashboard of every scope ahead (cron, every 5 minutes)."""

from __future__ import annotations

import click
from flask import current_app

from app.reports import bp, cache, warm


@bp.cli.command("reports-warm")
@click.option("--ttl", type=click.IntRange(0), default=None,
              help="Secondi di validità dei report calcolati (predefinito: 2 × REPORTS_CACHE_SECONDS).")
def reports_warm(ttl: int | None):
    """Compute and cache the default dashboard and its filter options for every viewer scope."""
    with current_app.test_request_context("/monitoraggio"):  # labels translated as for a request
        if cache.seconds() <= 0:
            click.echo("reports-warm: cache dei report disattivata (REPORTS_CACHE_SECONDS=0), nulla da fare.")
            return
        if not cache.shared():
            click.echo("reports-warm: REDIS_URL non impostato, la cache è di ogni processo: nulla da preparare.")
            return
        result = warm.warm(ttl)
    if result.skipped:
        click.echo("reports-warm: un altro nodo sta già preparando i report, saltato.")
    else:
        click.echo(f"reports-warm: {result.scopes} ambiti preparati in {result.seconds} s.")
