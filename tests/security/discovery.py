"""Find what a signed-in person can send: the forms and query links on the pages they reach.

Nothing is listed by hand: a new page linked from the navigation (or from a page linked there)
brings its forms and links into the hostile-input tests on its own.
"""

from __future__ import annotations

import json
import re
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urldefrag, urljoin, urlsplit

# Never followed or submitted by the crawler: signing out ends the session under test; files are not pages.
SKIP_PATH = re.compile(r"(^/logout$|^/static/|\.(ics|pdf|csv|xlsx|zip|json)$)", re.IGNORECASE)
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def shape(path: str) -> str:
    """The route behind a path: /giovani/12 and /giovani/7 are one shape."""
    return re.sub(r"/\d+(?=/|$|\.)", "/<n>", path)


@dataclass
class Field:
    """One named control of a form, with what a browser would send if left alone."""

    name: str
    kind: str  # input type, "select", "textarea", "button"
    default: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    """A form (or an htmx element that sends a request) found on a page."""

    method: str
    action: str  # path plus query, same site
    page: str  # where it was found
    fields: list[Field] = field(default_factory=list)

    def key(self) -> tuple:
        """Forms that differ only by the record they act on count once."""
        return self.method, shape(urlsplit(self.action).path), tuple(sorted({f.name for f in self.fields}))

    def defaults(self) -> dict[str, list[str]]:
        """What submitting the form untouched sends (first submit button included, like a click)."""
        values: dict[str, list[str]] = {}
        button_done = False
        for f in self.fields:
            if f.kind == "button":
                if button_done or not f.name:
                    continue
                button_done = True
            if f.default:
                values.setdefault(f.name, []).extend(f.default)
        return values

    def fuzzable(self) -> list[str]:
        """Names worth sending hostile values to (the CSRF token is left valid, or nothing gets past it)."""
        names = []
        for f in self.fields:
            if f.name and f.name != "csrf_token" and f.name not in names:
                names.append(f.name)
        return names


class PageParser(HTMLParser):
    """Collects same-page links (href, hx-get) and forms with their controls."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.links: list[str] = []
        self.forms: list[Form] = []
        self.inline: list[str] = []  # what the CSP (no 'unsafe-inline', no eval) would block
        self._form: Form | None = None
        self._select: Field | None = None
        self._select_first: str | None = None
        self._option_value: str | None = None
        self._option_selected = False
        self._option_text = ""
        self._textarea: Field | None = None
        self._multiple = False
        self._extra_targets: list[tuple[str, str]] = []

    # -- helpers ---------------------------------------------------------------------------
    def _url(self, value: str | None) -> str:
        return urljoin(self.page, value or "")

    def _target(self, attrs: dict) -> tuple[str, str] | None:
        for attr, method in (("hx-post", "POST"), ("hx-put", "PUT"), ("hx-patch", "PATCH"),
                             ("hx-delete", "DELETE"), ("hx-get", "GET")):
            if attr in attrs:
                return method, self._url(attrs[attr])
        return None

    # -- parser callbacks ---------------------------------------------------------------------
    def handle_starttag(self, tag, attrs_list):
        attrs = {k: (v if v is not None else "") for k, v in attrs_list}
        if (tag == "script" and "src" not in attrs) or tag == "style":
            self.inline.append(f"inline <{tag}> element")
        for name in attrs:
            if name == "style" or name.startswith(("on", "hx-on")):
                self.inline.append(f"inline {name}= attribute on <{tag}>")
        if tag == "a" and attrs.get("href"):
            self.links.append(self._url(attrs["href"]))
        if tag == "form":
            target = self._target(attrs)
            if target is None:
                target = ((attrs.get("method") or "get").upper(), self._url(attrs.get("action")))
            self._form = Form(method=target[0], action=target[1], page=self.page)
            self._extra_targets = []
            self.forms.append(self._form)
            return
        if self._form is not None:
            target = self._target(attrs)
            if target is not None:
                # A button with its own hx-post sends the enclosing form somewhere else (e.g. "finalise").
                self._extra_targets.append(target)
        if tag != "form" and self._form is None:
            target = self._target(attrs)
            if target is not None:
                method, url = target
                if method == "GET" and not attrs.get("name"):
                    self.links.append(url)
                else:
                    # A lone htmx control (button, input): it sends its own name/value and its hx-vals.
                    form = Form(method=method, action=url, page=self.page)
                    if attrs.get("name"):
                        form.fields.append(Field(attrs["name"], tag, [attrs.get("value", "")]))
                    for name, value in _hx_vals(attrs.get("hx-vals")).items():
                        form.fields.append(Field(name, "hidden", [value]))
                    self.forms.append(form)
        if self._form is None:
            return
        name = attrs.get("name", "")
        if tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind in {"submit", "image", "reset"}:
                kind = "button"
            if kind in {"checkbox", "radio"}:
                value = attrs.get("value", "on")
                existing = next((f for f in self._form.fields if f.name == name and f.kind == kind), None)
                if existing is None:
                    existing = Field(name, kind)
                    self._form.fields.append(existing)
                existing.options.append(value)
                if "checked" in attrs:
                    existing.default.append(value)
                return
            if kind == "file":
                self._form.fields.append(Field(name, kind))
                return
            if kind == "reset":
                return
            self._form.fields.append(Field(name, kind, [attrs.get("value", "")] if kind != "button" or name else []))
        elif tag == "button":
            if (attrs.get("type") or "submit").lower() == "submit" and name:
                self._form.fields.append(Field(name, "button", [attrs.get("value", "")]))
        elif tag == "select":
            self._select = Field(name, "select")
            self._select_first = None
            self._form.fields.append(self._select)
            self._multiple = "multiple" in attrs
        elif tag == "option" and self._select is not None:
            self._option_value = attrs.get("value")
            self._option_selected = "selected" in attrs
            self._option_text = ""
        elif tag == "textarea":
            self._textarea = Field(name, "textarea", [""])
            self._form.fields.append(self._textarea)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.default[0] += data
        if self._option_value is None and self._select is not None:
            self._option_text += data

    def handle_endtag(self, tag):
        if tag == "option" and self._select is not None:
            value = self._option_value if self._option_value is not None else self._option_text.strip()
            self._select.options.append(value)
            if self._option_selected:
                self._select.default.append(value)
            if self._select_first is None:
                self._select_first = value
            self._option_value = None
        elif tag == "select" and self._select is not None:
            if not self._select.default and self._select_first is not None and not self._multiple:
                self._select.default.append(self._select_first)
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and self._form is not None:
            for method, url in self._extra_targets:
                self.forms.append(Form(method=method, action=url, page=self.page, fields=list(self._form.fields)))
            self._form = None


def _hx_vals(raw: str | None) -> dict[str, str]:
    if not raw:
        return {}
    try:
        values = json.loads(raw)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in values.items()} if isinstance(values, dict) else {}


@dataclass
class Discovery:
    """What one crawl found."""

    pages: list[str] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    query_links: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def same_site(url: str) -> str | None:
    """Path and query of a URL of this app (the test client's host), or None."""
    url, _fragment = urldefrag(url)
    parts = urlsplit(url)
    if parts.scheme not in {"", "http", "https"} or parts.netloc not in {"", "localhost"}:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def crawl(client, start: list[str], max_pages: int = 70, per_shape: int = 2) -> Discovery:
    """Breadth-first visit of same-site GET links, collecting forms and query links.

    One page per route shape and query, except that up to `per_shape` records of a shape are opened
    (an appointment that is booked offers other forms than one that took place).
    """
    found = Discovery()
    seen_shapes: dict[str, int] = {}
    form_keys: set[tuple] = set()
    link_keys: set[tuple] = set()
    queue: deque[str] = deque(start)
    while queue and len(found.pages) < max_pages:
        target = queue.popleft()
        parts = urlsplit(target)
        page_key = shape(parts.path) + "?" + ",".join(sorted({k for k, _v in parse_qsl(parts.query)}))
        limit = per_shape if "<n>" in page_key and not parts.query else 1
        if SKIP_PATH.search(parts.path) or seen_shapes.get(page_key, 0) >= limit or target in found.pages:
            continue
        seen_shapes[page_key] = seen_shapes.get(page_key, 0) + 1
        response = client.get(target)
        found.pages.append(target)
        if response.status_code >= 500:
            found.problems.append(f"GET {target}: {response.status_code}")
            continue
        if not response.content_type.startswith("text/html"):
            continue
        parser = PageParser("http://localhost" + target)
        parser.feed(response.get_data(as_text=True))
        found.problems += [f"GET {target}: {problem}" for problem in parser.inline]
        for form in parser.forms:
            action = same_site(form.action)
            if action is None or SKIP_PATH.search(urlsplit(action).path):
                continue
            form.action = action
            form.page = target
            if form.key() not in form_keys:
                form_keys.add(form.key())
                found.forms.append(form)
        for link in parser.links:
            local = same_site(link)
            if local is None:
                continue
            parts = urlsplit(local)
            if parts.query:
                key = (shape(parts.path), tuple(sorted({k for k, _v in parse_qsl(parts.query, keep_blank_values=True)})))
                if key not in link_keys and not SKIP_PATH.search(parts.path):
                    link_keys.add(key)
                    found.query_links.append(local)
            queue.append(local)
    return found
