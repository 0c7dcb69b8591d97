"""The warm renderer: one zygote per app process, reused, replaced when dead, never shared across a fork."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from app.notes import pdf

HTML = "<!doctype html><html lang=\"it\"><head><title>Prova</title></head><body><p>Prova di stampa</p></body></html>"


@pytest.fixture(autouse=True)
def fresh_zygote(app):
    """Each test starts without a zygote and leaves none behind."""
    with app.test_request_context():
        pdf.shutdown_zygote()
        yield
        pdf.shutdown_zygote()


def _parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_renders_reuse_one_zygote_and_a_killed_zygote_is_replaced():
    """Two PDFs from the same zygote (a child of this process); after SIGKILL the next PDF comes from a new one."""
    assert pdf.zygote_pid() is None
    first, _variant = pdf.render_pdf(HTML)
    zygote = pdf.zygote_pid()
    assert first.startswith(b"%PDF") and zygote is not None and _parent_of(zygote) == os.getpid()
    second, _variant = pdf.render_pdf(HTML)
    assert second.startswith(b"%PDF") and pdf.zygote_pid() == zygote

    os.kill(zygote, signal.SIGKILL)
    third, _variant = pdf.render_pdf(HTML)
    replaced = pdf.zygote_pid()
    assert third.startswith(b"%PDF")
    assert replaced is not None and replaced != zygote and _parent_of(replaced) == os.getpid()


def test_a_forked_app_process_starts_its_own_zygote_and_leaves_the_parents_alone():
    """gunicorn --preload: the forked worker neither reuses nor stops the zygote it inherited a handle to."""
    pdf.render_pdf(HTML)
    parents = pdf.zygote_pid()
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the forked "worker": report, clean up its own zygote, never return into pytest
        code = 1
        try:
            os.close(read_end)
            inherited = pdf.zygote_pid()
            data, _variant = pdf.render_pdf(HTML)
            own = pdf.zygote_pid()
            os.write(write_end, f"{inherited} {own} {_parent_of(own)} {os.getpid()} {data[:4].decode()}".encode())
            pdf.shutdown_zygote()
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as answer:
        report = answer.read().decode()
    _pid, status = os.waitpid(child, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, report
    inherited, own, owns_parent, child_pid, magic = report.split()
    assert inherited == "None" and magic == "%PDF"
    assert int(own) != parents and int(owns_parent) == int(child_pid) == child
    # The parent's zygote survived the child and still serves the parent.
    assert pdf.zygote_pid() == parents
    assert pdf.render_pdf(HTML)[0].startswith(b"%PDF") and pdf.zygote_pid() == parents


def test_a_zygote_that_cannot_start_falls_back_to_one_process_per_pdf(monkeypatch):
    """No answer to the warm-up in time: the zygote is stopped and the PDF still comes from a one-shot worker."""
    monkeypatch.setattr(pdf, "ZYGOTE_START_TIMEOUT", 0.001)
    data, _variant = pdf.render_pdf(HTML)
    assert data.startswith(b"%PDF") and pdf.zygote_pid() is None
