"""Pure helpdesk rules (no Flask): urgency signals and the service level in working days."""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable
from datetime import date

# Topics that are urgent by themselves.
URGENT_TOPICS = frozenset({"violenza_genere"})

# Word stems that signal distress or violence (Italian, accents removed, lower case).
URGENT_SIGNALS: tuple[str, ...] = (
    "suicid", "uccider", "ammazz", "farla finita", "farmi del male", "farmi male", "autolesion", "mi taglio",
    "tagliarmi", "non ce la faccio piu", "voglio morire", "violenz", "picchia", "botte", "abus", "molest",
    "stupr", "minacc", "stalk", "perseguit", "aggredit", "aggression", "ricatt", "paura di tornare a casa",
    "mi fa paura", "maltratt", "bullism", "cyberbull",
)

TAG_RE = re.compile(r"<\s*/?\s*[a-zA-Z!?][^>]*>")


def _fold(text: str) -> str:
    """Lower case without accents, so "più" matches "piu"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def urgency_signals(topic: str, *texts: str) -> list[str]:
    """The signals found (topic or word stems); empty when none."""
    found = [f"topic:{topic}"] if topic in URGENT_TOPICS else []
    folded = " ".join(_fold(t) for t in texts)
    found.extend(stem for stem in URGENT_SIGNALS if stem in folded)
    return found


def is_urgent(topic: str, *texts: str) -> bool:
    """True when the topic or the words suggest distress or violence."""
    return bool(urgency_signals(topic, *texts))


def clean_text(value: str | None) -> str:
    """Strip NUL bytes (PostgreSQL refuses them) and surrounding blanks."""
    return (value or "").replace("\x00", "").strip()


def has_markup(value: str) -> bool:
    """True when the text contains HTML-like tags (a "<3" is fine, a "<script>" is not)."""
    return bool(TAG_RE.search(value or ""))


def is_working_day(day: date, holidays: Iterable[date] | set[date], closed_days: set[date]) -> bool:
    """Monday to Friday, not a holiday (national or patron day), not a day the desk is closed."""
    return day.weekday() < 5 and day not in holidays and day not in closed_days


def _weekdays_to(day: date) -> int:
    """Mondays to Fridays from 1 January of year 1 (a Monday) to `day` included."""
    weeks, rest = divmod(day.toordinal(), 7)
    return weeks * 5 + min(rest, 5)


class WorkingDays:
    """Counts working days against one calendar: built once, then each count is two binary searches.

    The queue shows the age of up to 200 tickets, some of them years old: walking their days one by
    one cost ~0.5 s of CPU per page at scale 1.
    """

    def __init__(self, holidays: Iterable[date], closed_days: Iterable[date] = frozenset()):
        # Only days that would otherwise be working days take one off.
        self._off = sorted({d for d in (*holidays, *closed_days) if d.weekday() < 5})

    def since(self, arrived: date, today: date) -> int:
        """Working days after the arrival day, up to and including today (0 on the day it arrived)."""
        if today <= arrived:
            return 0
        off = bisect.bisect_right(self._off, today) - bisect.bisect_right(self._off, arrived)
        return _weekdays_to(today) - _weekdays_to(arrived) - off


def working_days_since(arrived: date, today: date, holidays: set[date], closed_days: set[date] = frozenset()) -> int:
    """Working days after the arrival day, up to and including today (0 on the day it arrived)."""
    return WorkingDays(holidays, closed_days).since(arrived, today)


def is_overdue(arrived: date, today: date, service_level_days: int, holidays: set[date],
               closed_days: set[date] = frozenset()) -> bool:
    """Past the service level: more than `service_level_days` full working days have started since arrival.

    A request that arrives on Monday with a 2-day service level is due by Wednesday evening and
    overdue on Thursday; holidays, weekends and closure days do not count.
    """
    return working_days_since(arrived, today, holidays, closed_days) > service_level_days
