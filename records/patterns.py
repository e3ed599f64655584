"""Regular expressions for ranges of numbers and dates, as the API document states them (ECMA and
Python read them alike): the input rules that a JSON Schema keyword cannot say (a date window, a
range of numbers typed as text) said as a pattern."""

from __future__ import annotations

import datetime as dt


def whole_numbers_pattern(low: int, high: int) -> str:
    """low..high (0 <= low) written without leading zeros: whole_numbers_pattern(8, 12) matches 8 … 12."""
    parts = []
    for width in range(len(str(low)), len(str(high)) + 1):
        first = max(low, 10 ** (width - 1) if width > 1 else 0)
        last = min(high, 10**width - 1)
        if first <= last:
            parts.append(digits_range_pattern(first, last, width))
    return "|".join(parts)


def digits_range_pattern(low: int, high: int, width: int) -> str:
    """A regular expression (no anchors) for the numbers low..high written with exactly `width`
    digits, zero-padded: digits_range_pattern(7, 12, 2) matches 07 … 12."""
    if not 0 <= low <= high < 10**width:
        raise ValueError(f"{low}..{high} does not fit {width} digits")
    if width == 1:
        return str(low) if low == high else f"[{low}-{high}]"
    unit = 10 ** (width - 1)
    (low_lead, low_rest), (high_lead, high_rest) = divmod(low, unit), divmod(high, unit)
    if low_lead == high_lead:
        return f"{low_lead}{_grouped(digits_range_pattern(low_rest, high_rest, width - 1))}"
    parts = []
    if low_rest == 0:
        low_lead -= 1  # the first leading digit is whole: joined with the middle ones
    else:
        parts.append(f"{low_lead}{_grouped(digits_range_pattern(low_rest, unit - 1, width - 1))}")
    whole_high = high_rest == unit - 1
    first, last = low_lead + 1, high_lead if whole_high else high_lead - 1
    if first <= last:
        lead = str(first) if first == last else f"[{first}-{last}]"
        parts.append(lead + ("[0-9]" if width == 2 else f"[0-9]{{{width - 1}}}"))
    if not whole_high:
        parts.append(f"{high_lead}{_grouped(digits_range_pattern(0, high_rest, width - 1))}")
    return "|".join(parts)


def _grouped(pattern: str) -> str:
    return f"(?:{pattern})" if "|" in pattern else pattern


def date_range_pattern(first: dt.date, last: dt.date) -> str:
    """An anchored pattern for the dates first..last written YYYY-MM-DD (days up to 31 in every month:
    `format: date` excludes 02-30 and the like)."""
    if first > last:
        raise ValueError("first is after last")
    months: list[tuple[int, int, int, int]] = []  # year, month, first day, last day
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        day_low = first.day if (year, month) == (first.year, first.month) else 1
        day_high = last.day if (year, month) == (last.year, last.month) else 31
        months.append((year, month, day_low, day_high))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    # Whole months of one year in a row share one alternative.
    runs: list[tuple[int, int, int, int, int]] = []  # year, first month, last month, first day, last day
    for year, month, day_low, day_high in months:
        previous = runs[-1] if runs else None
        if (previous and previous[0] == year and previous[2] == month - 1 and (previous[3], previous[4]) == (1, 31)
                and (day_low, day_high) == (1, 31)):
            runs[-1] = (year, previous[1], month, 1, 31)
        else:
            runs.append((year, month, month, day_low, day_high))
    alternatives = [f"{year:04d}-{_grouped(digits_range_pattern(m_low, m_high, 2))}-"
                    f"{_grouped(digits_range_pattern(d_low, d_high, 2))}" for year, m_low, m_high, d_low, d_high in runs]
    return f"^(?:{'|'.join(alternatives)})$"
