"""`flask backup PATH` and `flask restore PATH`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app

from app.extensions import db
from app.ops import backup as backups


def register(app: Flask) -> None:
    """Add the backup and restore commands to the app's CLI."""

    @app.cli.command("backup")
    @click.argument("path", type=click.Path(path_type=Path))
    def backup_command(path: Path):
        """Back up the database and the PDF archive to PATH (new directory, or .tar / .tar.gz)."""
        try:
            result = backups.backup(db.engine, current_app.config["ARCHIVE_DIR"], path)
        except backups.BackupError as error:
            raise click.ClickException(str(error)) from None
        rows = sum(result.manifest["tables"].values())
        click.echo(f"Backup scritto in {result.path}: {len(result.manifest['files'])} file, {rows} righe, "
                   f"revisione {result.manifest['revision']}.")

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(exists=True, path_type=Path))
    def restore_command(path: Path):
        """Restore a backup (checksums verified first) into an EMPTY database and archive folder."""
        try:
            result = backups.restore(db.engine, current_app.config["ARCHIVE_DIR"], path)
        except backups.BackupError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"Ripristino completato da {result.path}: revisione {result.manifest['revision']}, "
                   f"righe per tabella uguali al manifesto.")

    @app.cli.command("bench-data")
    @click.option("--scale", type=float, default=1.0, show_default=True,
                  help="1 = 50.000 giovani, 1.000.000 appuntamenti, 600.000 note, 100.000 richieste.")
    @click.option("--seed", "seed_value", type=int, default=2026, show_default=True)
    @click.option("--database-url", default=None, help="Un altro database (altrimenti DATABASE_URL).")
    def bench_data_command(scale: float, seed_value: int, database_url: str | None):
        """Fill an empty, migrated database with the benchmark network and ten years of activity."""
        from app import create_app
        from app.ops import benchdata

        target = current_app
        if database_url:  # the same configuration, another database
            target = create_app(SQLALCHEMY_DATABASE_URI=benchdata.sqlalchemy_url(database_url))
        with target.app_context():
            try:
                counts = benchdata.generate(scale, seed_value, log=click.echo)
            except RuntimeError as error:
                raise click.ClickException(str(error)) from None
        for line in benchdata.summary_lines(counts):
            click.echo(line)
        click.echo(f"Account: *@{benchdata.EMAIL_DOMAIN}, password {benchdata.BENCH_PASSWORD}")
