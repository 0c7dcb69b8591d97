"""Holidays that close every desk: Italian national holidays plus the town's patron-saint day.

Pure module (no Flask). National holidays come from the `holidays` package
(Easter Monday included; 4 October is national again from 2026). The package has
no municipal level (`subdiv="MI"` would add Milan's 7 December to every town, which
is wrong for ours), so each town's patron day comes from the app's own configuration.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import lru_cache

import holidays as holidays_package

PatronDay = tuple[int, int, str]  # (month, day, name), e.g. (1, 20, "San Sebastiano")


# Languages the holidays package names Italy's holidays in; anything else falls back to Italian.
LANGUAGES = {"it": "it_IT", "en": "en_US"}


@lru_cache(maxsize=32)
def _national(years: frozenset[int], language: str = "it") -> tuple[tuple[date, str], ...]:
    """The national holidays of these years, cached (building them costs a few milliseconds)."""
    calendar = holidays_package.Italy(years=sorted(years), language=LANGUAGES.get(language, "it_IT"))
    return tuple(sorted(calendar.items()))


def holidays_for(years: Iterable[int] | int, patron_day: PatronDay | None = None,
                 language: str = "it") -> dict[date, str]:
    """National holidays of `years` plus the patron-saint day (month, day, name) when the town has one.

    National names are in `language` ("it" or "en"); the patron day keeps the name the town gave it.

    When the patron day falls on a national holiday the two names are joined with "; ".
    A patron day that does not exist in a year (29 February) is skipped for that year.
    """
    year_set = frozenset([years] if isinstance(years, int) else years)
    result = dict(_national(year_set, language))
    if patron_day is not None:
        month, day, name = patron_day
        for year in sorted(year_set):
            try:
                when = date(year, month, day)
            except ValueError:
                continue
            result[when] = f"{result[when]}; {name}" if when in result else name
    return result


def holidays_between(start: date, end: date, patron_day: PatronDay | None = None,
                     language: str = "it") -> dict[date, str]:
    """The holidays from `start` to `end` inclusive (a convenience for building a DeskCalendar)."""
    if end < start:
        return {}
    every = holidays_for(range(start.year, end.year + 1), patron_day, language)
    return {day: name for day, name in every.items() if start <= day <= end}
