#!/usr/bin/env python3
"""Write the oracle fixture that ombud's working-day calendars are checked against.

ombud's calendars (crates/domain/src/calendar/) are hand-written rule tables. To catch a wrong
offset, a missing year range or a typo in a date, the Rust test `crates/domain/tests/calendar.rs`
compares them, year by year, with an independent implementation: the Python `holidays` package.
This script asks that package for every supported country and every year in YEARS and writes
the result to crates/domain/tests/fixtures/holidays-DK-SE-DE-2000-2060.json.

Regenerate (from the repository root):

    python3 -m venv /tmp/hvenv
    /tmp/hvenv/bin/pip install holidays==0.109
    /tmp/hvenv/bin/python scripts/gen-holiday-fixture.py

The fixture was generated with holidays 0.109 (python-dateutil 2.9.0.post0, Python 3.11).
A different package version may legitimately differ (the package fixes history too); the script
refuses to run with another version unless --any-version is given, so that a regenerated
fixture is a deliberate act and its diff gets read.

Fixture format:

    {"generator": ..., "holidays_version": "0.109", "first_year": 2000, "last_year": 2060,
     "countries": {"DK": {"2000": {"public":    {"2000-01-01": "New Year's Day", ...},
                                   "customary": {"2000-06-05": "Constitution Day", ...}}}}}

"public" is the set of statutory public holidays (ombud's HolidayKind::Public), "customary" the
set of customary closing days an organisation may opt into (HolidayKind::Customary). Only dates
are compared; the English names are there to make a failing diff readable.

How the package's categories map to ombud's kinds (decided here, on purpose):

DK  public    = package category PUBLIC, unchanged. It already drops Store Bededag from 2024
                (Act no. 214 of 6 March 2023) and lists Påskedag and Pinsedag (Sundays), as
                ombud does.
    customary = package category OPTIONAL minus 1 May (Arbejdernes kampdag). The package's
                OPTIONAL category holds 1 May, 5 June, 24 Dec and 31 Dec. ombud offers
                5 June (constitution_day), 24 Dec (christmas_eve) and 31 Dec (new_years_eve) as
                customary closing days; 1 May is at most a half day off under some collective
                agreements, not a day a business closes, so ombud does not offer it and it is
                dropped here.
SE  public    = package category PUBLIC with include_sundays=False. With include_sundays=True
                the package adds every Sunday of the year as "Söndag"; Sundays are already
                non-working days by ombud's weekend rule, so listing them would be noise. The
                statutory days that fall on a Sunday or Saturday by definition (Påskdagen,
                Pingstdagen, Midsommardagen, Alla helgons dag) are real entries of the Act on
                public holidays (SFS 1989:253) and stay, as they do in ombud.
    customary = package category DE_FACTO (Midsommarafton, Julafton, Nyårsafton): days that the
                Annual Leave Act (SFS 1977:480 s. 7) treats like Sundays but that are not public
                holidays. ombud offers them as midsummer_eve, christmas_eve, new_years_eve. The
                package's BANK and OPTIONAL categories (half days "from 2pm", squeeze days) are
                not used.
DE  public    = package category PUBLIC with no subdivision, i.e. the nationwide holidays only
                (this includes the one-off nationwide Reformationstag of 31 Oct 2017). The
                script checks that this equals the intersection of all sixteen Länder, so
                "nationwide" means "a holiday in every Land" and not just "whatever the package
                lists without a subdivision".
    customary = empty. The package has no category of customary closing days for Germany and
                ombud defines none.
"""

import argparse
import datetime
import json
import pathlib
import sys

import holidays
from holidays.countries.germany import Germany

PINNED_VERSION = "0.109"
FIRST_YEAR = 2000
LAST_YEAR = 2060
ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "crates/domain/tests/fixtures/holidays-DK-SE-DE-2000-2060.json"
LANG = "en_US"


def as_map(hs):
    """{iso date: name}, sorted by date. Several names on one date are joined by the package."""
    return {d.isoformat(): name for d, name in sorted(hs.items())}


def denmark(year):
    public = holidays.country_holidays("DK", years=year, categories=("public",), language=LANG)
    optional = holidays.country_holidays(
        "DK", years=year, categories=("optional",), language=LANG
    )
    customary = {d: n for d, n in optional.items() if d != datetime.date(year, 5, 1)}
    return as_map(public), as_map(customary)


def sweden(year):
    public = holidays.country_holidays(
        "SE", years=year, categories=("public",), language=LANG, include_sundays=False
    )
    de_facto = holidays.country_holidays(
        "SE", years=year, categories=("de_facto",), language=LANG
    )
    return as_map(public), as_map(de_facto)


def germany(year):
    public = holidays.country_holidays("DE", years=year, categories=("public",), language=LANG)
    every_land = None
    for land in Germany.subdivisions:
        if land == "Augsburg":  # a city inside Bavaria, not a Land
            continue
        dates = set(holidays.country_holidays("DE", subdiv=land, years=year).keys())
        every_land = dates if every_land is None else every_land & dates
    if set(public.keys()) != every_land:
        sys.exit(
            f"DE {year}: nationwide list {sorted(public.keys())} differs from the "
            f"intersection of all Länder {sorted(every_land)}; decide which one is right"
        )
    return as_map(public), {}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--any-version", action="store_true", help="allow another holidays version")
    args = parser.parse_args()
    if holidays.__version__ != PINNED_VERSION and not args.any_version:
        sys.exit(
            f"holidays {holidays.__version__} is installed, the fixture is pinned to "
            f"{PINNED_VERSION}; install it (pip install holidays=={PINNED_VERSION}) or pass "
            "--any-version and review the diff"
        )

    countries = {}
    for code, fn in (("DK", denmark), ("SE", sweden), ("DE", germany)):
        per_year = {}
        for year in range(FIRST_YEAR, LAST_YEAR + 1):
            public, customary = fn(year)
            per_year[str(year)] = {"public": public, "customary": customary}
        countries[code] = per_year

    fixture = {
        "generator": "scripts/gen-holiday-fixture.py",
        "holidays_version": holidays.__version__,
        "first_year": FIRST_YEAR,
        "last_year": LAST_YEAR,
        "countries": countries,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as f:
        json.dump(fixture, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
