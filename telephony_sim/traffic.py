"""Call traffic: Poisson arrivals per queue with an hourly rate profile, handle-time and patience
distributions, and the caller IDs real PBXs send (CRM numbers in their many spellings, unknown
numbers, withheld and malformed IDs).

Each queue draws from its own random streams, seeded from the run's seed and the queue's name,
so adding a queue to a scenario does not reshuffle the calls of the others.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import phonenumbers

from callkit.specs import CallerMix

# Caller IDs no console should choke on (no CR/LF: those would break AMI framing itself).
MALFORMED_IDS = (
    "12",
    "+",
    "++4420",
    "+1 (555",
    "555-CALL-NOW",
    "0000000000000000000000000",
    "sip:alice@example.com",
    "1;phone-context=+1",
    "+44 20 7946 001800000",
    "\x1b[31m4155550123",
    "\u202e1234567890",
    "tel:",
)
WITHHELD_IDS = ("anonymous", "<unknown>")

# Area codes for generated US numbers (real, geographic ones, so numbers validate).
_AREA_CODES = (201, 206, 212, 213, 305, 312, 404, 415, 503, 512, 617, 702, 713, 720, 801, 917)


def generate_us_number(rng: random.Random) -> str:
    """A valid-looking US E.164 number (exchange 200–999, never N11 or 555)."""
    area = _AREA_CODES[rng.randrange(len(_AREA_CODES))]
    exchange = rng.randrange(200, 1000)
    while exchange % 100 == 11 or exchange == 555:
        exchange = rng.randrange(200, 1000)
    return f"+1{area}{exchange}{rng.randrange(10000):04d}"


def _format_us(e164: str, style: str) -> str:
    digits = e164[1:]
    if style == "plain":
        return digits
    if style == "intl00":
        return "00" + digits
    if style == "national":
        return digits[1:]
    if style == "spaced":
        return f"+1 {digits[1:4]} {digits[4:7]} {digits[7:]}"
    return e164


@lru_cache(maxsize=65536)
def format_number(e164: str, style: str) -> str:
    """Spell an E.164 number as PBXs send it: e164, plain (no +), intl00, national, spaced."""
    if style == "e164":
        return e164
    if e164.startswith("+1") and len(e164) == 12:
        return _format_us(e164, style)
    if style == "plain":
        return e164.lstrip("+")
    if style == "intl00":
        return "00" + e164.lstrip("+")
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if style == "national":
        national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
        return "".join(ch for ch in national if ch.isdigit())
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL))


class CallerIdSource:
    """Draws (CallerIDNum, CallerIDName) pairs for one queue's callers."""

    def __init__(self, numbers: Sequence[str], mix: CallerMix, rng: random.Random) -> None:
        self.numbers = list(numbers)
        self.mix = mix
        self.rng = rng
        styles = [(s, w) for s, w in mix.formats.items() if w > 0] or [("e164", 1.0)]
        total = sum(w for _s, w in styles)
        self._styles = [s for s, _w in styles]
        acc = 0.0
        self._cum: list[float] = []
        for _s, w in styles:
            acc += w / total
            self._cum.append(acc)

    def draw(self) -> tuple[str, str]:
        """One caller ID; the name is empty (shown as ``<unknown>``) unless withheld."""
        rng = self.rng
        mix = self.mix
        r = rng.random()
        if r < mix.withheld_share:
            return WITHHELD_IDS[rng.randrange(2)], "Anonymous"
        r -= mix.withheld_share
        if r < mix.malformed_share:
            return MALFORMED_IDS[rng.randrange(len(MALFORMED_IDS))], ""
        if self.numbers and rng.random() >= mix.unknown_share:
            e164 = self.numbers[rng.randrange(len(self.numbers))]
        else:
            e164 = generate_us_number(rng)
        if len(self._styles) == 1:
            return format_number(e164, self._styles[0]), ""
        x = rng.random()
        for style, bound in zip(self._styles, self._cum, strict=True):
            if x < bound:
                # US numbers are spelled by slicing: generated ones would only thrash the cache.
                if e164[:2] == "+1" and len(e164) == 12:
                    return _format_us(e164, style), ""
                return format_number(e164, style), ""
        return e164, ""


def load_numbers_from_sqlite(path: str | Path, limit: int = 100_000) -> list[str]:
    """E.164 numbers of the CRM database, opened read-only (never written, never locked long)."""
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    try:
        rows = conn.execute("SELECT e164 FROM phone_numbers ORDER BY id LIMIT ?", (limit,))
        return [str(r[0]) for r in rows if r[0]]
    finally:
        conn.close()


def load_customer_number(path: str | Path, customer_id: int) -> str | None:
    """The first stored number of one customer (for scripted calls naming a customer id)."""
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True)
    try:
        row = conn.execute(
            "SELECT e164 FROM phone_numbers WHERE customer_id = ? ORDER BY id LIMIT 1",
            (customer_id,),
        ).fetchone()
        return str(row[0]) if row else None
    finally:
        conn.close()


class ArrivalProcess:
    """Poisson arrivals whose rate is constant within each hour of the day.

    Exact for a piecewise-constant rate: the exponential is memoryless, so when a draw crosses an
    hour boundary the process restarts at the boundary with the next hour's rate.
    """

    def __init__(
        self, hourly_rates: Sequence[float], start_of_day: float, rng: random.Random
    ) -> None:
        if len(hourly_rates) != 24:
            raise ValueError("a rate profile has 24 hourly values")
        self.rates = [r / 3600.0 for r in hourly_rates]  # calls per second
        self.start = start_of_day
        self.rng = rng
        self._any = any(r > 0 for r in self.rates)

    def next_after(self, t: float) -> float | None:
        """Time of the next arrival after ``t`` (None when every hour's rate is zero)."""
        if not self._any:
            return None
        expo = self.rng.expovariate
        while True:
            tod = (self.start + t) % 86400.0
            hour = int(tod // 3600.0)
            boundary = t + 3600.0 - (tod - hour * 3600.0)
            rate = self.rates[hour]
            if rate > 0:
                nxt = t + expo(rate)
                if nxt < boundary:
                    return nxt
            t = boundary
