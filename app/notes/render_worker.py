"""PDF render worker: HTML on stdin, PDF on stdout, run as a separate, limited process.

Started by `app.notes.pdf.render_pdf` with `python -I <this file>`: it imports nothing
from the app (no configuration, no secrets, no database), caps its own address space
(RLIMIT_AS) and CPU time before importing WeasyPrint, and fetches nothing but files
inside the static folder given on the command line. The parent enforces the wall-clock
limit and kills the process when it is exceeded.

Exit codes: 0 success; 3 bad arguments; 4 out of memory; 5 rendering error.
"""

from __future__ import annotations

import json
import mimetypes
import resource
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

ALLOWED_SUFFIXES = {".woff2", ".woff", ".ttf", ".otf", ".css", ".svg", ".png"}


def _limit(memory_mb: int, cpu_seconds: int) -> None:
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
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


def main(argv: list[str]) -> int:
    """Render stdin's HTML to PDF on stdout under the given limits."""
    try:
        static_root, memory_mb, cpu_seconds, variant = Path(argv[1]), int(argv[2]), int(argv[3]), argv[4]
    except (IndexError, ValueError):
        print("usage: render_worker.py STATIC_ROOT MEMORY_MB CPU_SECONDS VARIANT [batch]", file=sys.stderr)
        return 3
    _limit(memory_mb, cpu_seconds)
    try:
        import logging

        from weasyprint import HTML

        logging.getLogger("weasyprint").setLevel(logging.ERROR)
        logging.getLogger("fontTools").setLevel(logging.ERROR)
        raw = sys.stdin.buffer.read().decode("utf-8")
        # Batch mode (demo data): a JSON list of documents, answered as length-prefixed PDFs.
        batch = len(argv) > 5 and argv[5] == "batch"
        documents = json.loads(raw) if batch else [raw]
        fetcher = make_fetcher(static_root)
        options = {"pdf_variant": variant or None, "pdf_tags": True, "attachments": None}
        pdfs = [HTML(string=html, base_url=static_root.resolve().as_uri() + "/", url_fetcher=fetcher)
                .write_pdf(**options) for html in documents]
    except MemoryError:
        print("out of memory", file=sys.stderr)
        return 4
    except Exception as exc:  # the parent only needs to know it failed
        print(f"render failed: {type(exc).__name__}", file=sys.stderr)
        return 5
    for pdf in pdfs:
        if batch:
            sys.stdout.buffer.write(len(pdf).to_bytes(8, "big"))
        sys.stdout.buffer.write(pdf)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
