"""Hostile values and what every answer to them must respect."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from hypothesis import strategies as st

ONE_MB = "x" * (1024 * 1024)
HUGE_NUMBER = "99999999999999999999999"

# Strings that must never come back verbatim in a page: if they do, the page runs the attacker's markup.
MARKUP = (
    '<script>alert("x1")</script>',
    '"><img src=x onerror=alert("x2")>',
    "'><svg/onload=alert('x3')>",
    '<a href="javascript:alert(\'x4\')">x4</a>',
    "</textarea><script>alert('x5')</script>",
    '<iframe srcdoc="&lt;script&gt;alert(6)&lt;/script&gt;"></iframe>',
)
# A template expression that, if evaluated by Jinja, prints a word that appears nowhere else.
TEMPLATE = "{{ 'hubtpl' ~ 'probe' }}"
TEMPLATE_RESULT = "hubtplprobe"

NASTY = (
    "", " ", "\x00", "a\x00b", "%00", "\x00" * 8, "\u0000<script>", "\r\nSet-Cookie: evil=1", "\t\n\r",
    ONE_MB,
    "😀🎉👩‍👩‍👧‍👦", "\U0001F4A9" * 300, "Zalgo: Z̴̡̛a̵̢͝l̷̛̖g̶͈̈́o̸͚͌", "\ufeffBOM", "\u200b\u200d",
    "\u202egnp.exe\u202c", "مرحبا بالعالم", "שלום עולם", "\u202b\u05e9\u05dc\u05d5\u05dd\u202c",
    "31/02/2026", "2026-02-30", "00/00/0000", "9999-12-31", "0001-01-01", "2026-13-01", "32/13/2026",
    "24:00", "25:61", "-01:00", "T", "2026-11-26T25:00",
    "-1", "0", "-2147483649", "2147483648", "9223372036854775808", "99999999999999999999999", "1e309",
    "NaN", "-inf", "0x10", "1.5", "١٢٣",
    "' OR '1'='1", "1; DROP TABLE users; --", "\" OR 1=1 --", "%' AND 1=0 UNION SELECT NULL --", "\\",
    TEMPLATE, "{% for x in range(10**9) %}{% endfor %}", "${7*7}", "#{7*7}", "<%= 7*7 %>", "%s%s%s%n", "{0}",
    *MARKUP,
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>",
    "//evil.test", "https://evil.test/", "/\\evil.test", "/\t/evil.test", "../../../../etc/passwd", "file:///etc/passwd",
    "a" * 256, "a" * 5001, "@" * 300 + ".it", "x@y", "+39 333 " * 50,
)

# Sent all at once to every field of a form (one each, in turn).
ODD = ("a\x00b", "\u202e😀 مرحبا", "31/02/2026", "-1", "99999999999999999999999", "' OR '1'='1", "javascript:alert(1)",
       "\r\nSet-Cookie: evil=1", "//evil.test")

VALUES = st.one_of(
    st.sampled_from(NASTY),
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)

# Form field and parameter names that are worth adding even when a page does not show them.
EXTRA_NAMES = ("next", "lang", "id", "page", "pagina", "q", "version", "revision", "__proto__")

JAVASCRIPT_URL = re.compile(r"""(href|src|action|formaction|hx-get|hx-post)\s*=\s*["']?\s*javascript:""", re.I)
SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "Permissions-Policy")
MESSAGE_MARKERS = ('role="alert"', "invalid-feedback", "error-page", "alert-danger", "alert alert-")


def problems(response, sent: list[str], request_line: str) -> list[str]:
    """What is wrong with an answer to hostile input (empty when nothing is)."""
    found: list[str] = []
    status = response.status_code
    if status >= 500:
        found.append(f"{request_line}: HTTP {status}")
        return found
    for header in SECURITY_HEADERS:
        if header not in response.headers:
            found.append(f"{request_line}: no {header} header")
    location = response.headers.get("Location") or response.headers.get("HX-Redirect") or ""
    if location:
        parts = urlsplit(location)
        if parts.scheme not in {"", "http", "https"} or parts.netloc not in {"", "localhost"}:
            found.append(f"{request_line}: redirects off site to {location[:200]!r}")
    for name, value in response.headers.items():
        if any(marker in value for marker in MARKUP) or "evil=1" in value:
            found.append(f"{request_line}: hostile value in header {name}")
    if not response.content_type.startswith("text/html"):
        return found
    body = response.get_data(as_text=True)
    if status == 401 and response.headers.get("HX-Redirect"):
        pass  # htmx goes to the sign-in page itself
    elif 400 <= status < 500:
        if not any(marker in body for marker in MESSAGE_MARKERS) and "<h1" not in body:
            found.append(f"{request_line}: HTTP {status} without a message: {body[:200]!r}")
        elif "<html" in body and 'lang="it"' not in body:
            found.append(f"{request_line}: HTTP {status} message not in Italian")
    for value in sent:
        if value in MARKUP and value in body:
            found.append(f"{request_line}: {value!r} reflected unescaped")
    if TEMPLATE in sent and TEMPLATE_RESULT in body:
        found.append(f"{request_line}: template syntax evaluated")
    if JAVASCRIPT_URL.search(body):
        found.append(f"{request_line}: javascript: URL in a link or form")
    return found
