"""`flask retention`: the retention job, a dry run unless --apply is given."""

from __future__ import annotations

import click
from flask import current_app

from app.formatting import format_date
from app.privacy import bp, retention


@bp.cli.command("retention")
@click.option("--dry-run", "mode", flag_value="dry-run", default=True,
              help="Mostra cosa verrebbe trattato, senza cambiare nulla (predefinito).")
@click.option("--apply", "mode", flag_value="apply", help="Anonimizza ed elimina davvero, a lotti.")
@click.option("--batch-size", default=retention.BATCH_SIZE, show_default=True, type=click.IntRange(1, 10000))
def retention_command(mode: str, batch_size: int):
    """Apply the retention periods (RETENTION_* settings): --dry-run (default) or --apply."""
    applying = mode == "apply"
    lines = retention.apply(batch_size=batch_size) if applying else retention.plan()
    with current_app.test_request_context():  # the labels are translated (Italian by default)
        _report(lines, applying)


def _report(lines: list[retention.Line], applying: bool) -> None:
    click.echo("Conservazione dei dati — " + ("APPLICAZIONE" if applying else "simulazione (--dry-run): "
                                               "nessun dato modificato"))
    for line in lines:
        kind = line.kind
        verb = ("trattati" if applying else "da trattare") if not line.kept else "oltre il termine"
        click.echo(f"- {kind.label}: {line.count} {verb} (oltre {kind.period()} {kind.unit_label}, "
                   f"prima del {format_date(line.cutoff)}) → {kind.action}")
    if applying:
        click.echo("Esecuzione registrata nel registro attività (privacy.retention).")
