"""PDF render worker: HTML on stdin, PDF on stdout, run as a separate, limited process.

Started by `app.notes.pdf` with `python -I <this file>`: it imports nothing from the app
(no configuration, no secrets, no database) and fetches nothing but files inside the
static folder given on the command line. Two modes:

- one-shot (`STATIC_ROOT MEMORY_MB CPU_SECONDS VARIANT [batch]`): caps its own address
  space (RLIMIT_AS) and CPU time before importing WeasyPrint, renders stdin, exits; the
  parent enforces the wall-clock limit and kills the process when it is exceeded.
- zygote (`--serve STATIC_ROOT MEMORY_MB VARIANT`): a long-lived renderer per app process. It
  imports WeasyPrint once under a generous RLIMIT_AS, renders a warm-up document read
  from stdin (fonts loaded), answers READY, then for each job frame on stdin forks a
  grandchild that applies the job's RLIMIT_AS/RLIMIT_CPU, renders, writes the result to
  a pipe and `os._exit`s. The zygote enforces the wall-clock limit (poll on the pipe),
  kills the grandchild when it is exceeded, and answers with a status and the bytes.
  It exits when its stdin closes (the app process is gone), killing any running job.

Exit codes (one-shot) and job statuses (zygote): 0 success; 3 bad arguments; 4 out of
memory; 5 rendering error; negative: killed by that signal (e.g. CPU limit);
124 (zygote only) wall-clock limit exceeded, the grandchild was killed.

Zygote frames (all integers big-endian): a frame is an 8-byte length and that many
bytes. Warm-up: one frame, the HTML. Job: a frame with a JSON header (memory_mb,
cpu_seconds, timeout, variant, batch) then a frame with the payload. Answers: READY is
a 4-byte status 0 and an empty frame; a job's answer is a 4-byte signed status and a
frame (the PDF or batch data on success, a short message otherwise).
"""

from __future__ import annotations

import gc
import json
import mimetypes
import os
import resource
import select
import signal
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

ALLOWED_SUFFIXES = {".woff2", ".woff", ".ttf", ".otf", ".css", ".svg", ".png"}


TIMED_OUT = 124
SERVE = "--serve"


def _limit(memory_mb: int, cpu_seconds: int | None) -> None:
    limit = memory_mb * 1024 * 1024
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)  # a job never gets more than the zygote was started with
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if cpu_seconds is not None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def make_fetcher(static_root: Path):
    """A URLFetcher that serves only font, style and image files under `static_root`."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    root = static_root.resolve()

    class StaticOnlyFetcher(URLFetcher):
        """Refuses every URL except file:// paths inside the app's static folder (no network, no data:)."""

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
                raise ValueError("refused: only the app's static files may be fetched")
            path = Path(unquote(parts.path)).resolve()
            if not path.is_relative_to(root) or path.suffix.lower() not in ALLOWED_SUFFIXES or not path.is_file():
                raise ValueError("refused: outside the static folder")
            mime = mimetypes.guess_type(path.name)[0] or (
                "font/woff2" if path.suffix == ".woff2" else "application/octet-stream")
            return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": mime})

    return StaticOnlyFetcher(allowed_protocols={"file"}, allow_redirects=False, timeout=1)


def _render(static_root: Path, variant: str, documents: list[str]) -> list[bytes]:
    from weasyprint import HTML

    fetcher = make_fetcher(static_root)
    options = {"pdf_variant": variant or None, "pdf_tags": True, "attachments": None}
    return [HTML(string=html, base_url=static_root.resolve().as_uri() + "/", url_fetcher=fetcher)
            .write_pdf(**options) for html in documents]


def _quiet_logs() -> None:
    import logging

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)


def _batched(pdfs: list[bytes]) -> bytes:
    return b"".join(len(pdf).to_bytes(8, "big") + pdf for pdf in pdfs)


# --- Zygote ---------------------------------------------------------------------------------

def _read_exact(fd: int, size: int) -> bytes | None:
    """`size` bytes from fd, or None at end of file."""
    chunks, missing = [], size
    while missing:
        chunk = os.read(fd, min(missing, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int) -> bytes | None:
    head = _read_exact(fd, 8)
    return None if head is None else _read_exact(fd, int.from_bytes(head, "big"))


def _answer(fd: int, status: int, data: bytes) -> None:
    view = memoryview(status.to_bytes(4, "big", signed=True) + len(data).to_bytes(8, "big") + data)
    while view:
        view = view[os.write(fd, view):]


def _die_with_parent() -> None:
    """Linux: SIGKILL this process when the (single-threaded) zygote dies."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _job(static_root: Path, header: dict, payload: bytes, out: int) -> int:
    """In the grandchild: limits, render, result to `out`; the exit status."""
    try:
        _limit(int(header["memory_mb"]), int(header["cpu_seconds"]))
        batch = bool(header.get("batch"))
        raw = payload.decode("utf-8")
        pdfs = _render(static_root, header.get("variant", ""), json.loads(raw) if batch else [raw])
        data, status = (_batched(pdfs) if batch else pdfs[0]), 0
    except MemoryError:
        data, status = b"out of memory", 4
    except Exception as exc:  # the app only needs to know it failed
        data, status = f"render failed: {type(exc).__name__}".encode(), 5
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(out, view):]
    except OSError:
        return 5
    return status


def _run_job(static_root: Path, header: dict, payload: bytes, requests: int) -> tuple[int, bytes]:
    """Fork a grandchild for one job, collect its output under the wall-clock limit."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # grandchild
        status = 5
        try:
            os.close(read_end)
            _die_with_parent()
            null = os.open(os.devnull, os.O_RDWR)
            os.dup2(null, 0)  # never touch the zygote's channel to the app
            os.dup2(null, 1)
            status = _job(static_root, header, payload, write_end)
        finally:
            os._exit(status)
    os.close(write_end)
    deadline = time.monotonic() + float(header["timeout"])
    chunks, timed_out, app_gone = [], False, False
    poller = select.poll()
    poller.register(read_end, select.POLLIN)
    poller.register(requests, select.POLLIN)  # readable while a job runs: the app closed its end
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            events = dict(poller.poll(max(1, int(remaining * 1000))))
            if requests in events:
                app_gone = True
                break
            if read_end in events:
                chunk = os.read(read_end, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(read_end)
        if timed_out or app_gone:
            os.kill(pid, signal.SIGKILL)
        _pid, wait_status = os.waitpid(pid, 0)
    if app_gone:
        raise EOFError
    if timed_out:
        return TIMED_OUT, b"timed out"
    if os.WIFSIGNALED(wait_status):
        return -os.WTERMSIG(wait_status), b"killed by signal"
    code = os.WEXITSTATUS(wait_status)
    data = b"".join(chunks)
    return code, data if code == 0 else data[-200:]


def serve(argv: list[str]) -> int:
    """The zygote's loop: warm up, READY, then one job per pair of frames until stdin closes."""
    try:
        static_root, memory_mb, variant = Path(argv[2]), int(argv[3]), argv[4]
    except (IndexError, ValueError):
        print("usage: render_worker.py --serve STATIC_ROOT MEMORY_MB VARIANT", file=sys.stderr)
        return 3
    requests, answers = sys.stdin.fileno(), sys.stdout.fileno()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the app process decides when we stop (stdin closed)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    _limit(memory_mb, None)
    try:
        _quiet_logs()
        warm = _read_frame(requests)
        if warm is None:
            return 0
        _render(static_root, variant, [warm.decode("utf-8")])  # imports, fonts and caches, shared by every fork
        gc.collect()
        gc.freeze()  # the forks' collector leaves these objects alone: fewer copy-on-write pages per job
    except MemoryError:
        return 4
    except Exception as exc:
        print(f"warm-up failed: {type(exc).__name__}", file=sys.stderr)
        return 5
    _answer(answers, 0, b"")
    while True:
        raw_header = _read_frame(requests)
        if raw_header is None:
            return 0
        payload = _read_frame(requests)
        if payload is None:
            return 0
        try:
            header = json.loads(raw_header)
            float(header["timeout"])
        except (ValueError, KeyError, TypeError):
            _answer(answers, 3, b"bad job header")
            continue
        try:
            status, data = _run_job(static_root, header, payload, requests)
        except EOFError:
            return 0
        del payload
        _answer(answers, status, data)


# --- One-shot -------------------------------------------------------------------------------

def main(argv: list[str]) -> int:
    """Render stdin's HTML to PDF on stdout under the given limits (or serve as a zygote)."""
    if len(argv) > 1 and argv[1] == SERVE:
        return serve(argv)
    try:
        static_root, memory_mb, cpu_seconds, variant = Path(argv[1]), int(argv[2]), int(argv[3]), argv[4]
    except (IndexError, ValueError):
        print("usage: render_worker.py STATIC_ROOT MEMORY_MB CPU_SECONDS VARIANT [batch]", file=sys.stderr)
        return 3
    _limit(memory_mb, cpu_seconds)
    try:
        _quiet_logs()
        raw = sys.stdin.buffer.read().decode("utf-8")
        # Batch mode (demo data): a JSON list of documents, answered as length-prefixed PDFs.
        batch = len(argv) > 5 and argv[5] == "batch"
        pdfs = _render(static_root, variant, json.loads(raw) if batch else [raw])
    except MemoryError:
        print("out of memory", file=sys.stderr)
        return 4
    except Exception as exc:  # the parent only needs to know it failed
        print(f"render failed: {type(exc).__name__}", file=sys.stderr)
        return 5
    sys.stdout.buffer.write(_batched(pdfs) if batch else pdfs[0])
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
