//! Calendar and deadline checks against an independent oracle and by properties.
//!
//! The oracle is the fixture written by `scripts/gen-holiday-fixture.py` from the Python
//! `holidays` package; the script's header documents how that package's categories map to
//! ombud's public and customary days.

use std::collections::{BTreeMap, BTreeSet};

use jiff::ToSpan;
use jiff::civil::{Date, Weekday, date};
use ombud_domain::calendar::{
    Calendar, HolidayKind, customary_day_ids, easter_sunday, supported_countries,
};
use ombud_domain::deadline::{deadlines, legal_due, promised_due};
use proptest::prelude::*;
use serde::Deserialize;

const FIXTURE: &str = include_str!("fixtures/holidays-DK-SE-DE-2000-2060.json");

#[derive(Deserialize)]
struct Fixture {
    holidays_version: String,
    first_year: i16,
    last_year: i16,
    /// country -> year -> lists.
    countries: BTreeMap<String, BTreeMap<String, OracleYear>>,
}

#[derive(Deserialize)]
struct OracleYear {
    /// ISO date -> English name.
    public: BTreeMap<String, String>,
    customary: BTreeMap<String, String>,
}

/// Differences between what we compute and what the oracle says, one line per date.
fn diff(
    country: &str,
    year: i16,
    what: &str,
    ours: &BTreeMap<String, String>,
    oracle: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut out = Vec::new();
    let dates: BTreeSet<&String> = ours.keys().chain(oracle.keys()).collect();
    for d in dates {
        match (ours.get(d), oracle.get(d)) {
            (Some(name), None) => out.push(format!(
                "{country} {year} {what}: we have {d} ({name}), the oracle does not"
            )),
            (None, Some(name)) => out.push(format!(
                "{country} {year} {what}: the oracle has {d} ({name}), we do not"
            )),
            _ => {}
        }
    }
    out
}

#[test]
fn public_and_customary_days_match_the_oracle() {
    let fixture: Fixture = serde_json::from_str(FIXTURE).expect("fixture parses");
    assert_eq!(fixture.holidays_version, "0.109");
    let mut codes: Vec<&str> = fixture.countries.keys().map(String::as_str).collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        supported_countries(),
        "every supported country must be in the fixture"
    );

    let mut problems = Vec::new();
    let mut checked = 0;
    for (country, years) in &fixture.countries {
        let all_customary = customary_day_ids(country).expect("supported");
        let cal = Calendar::new(country, &all_customary).expect("calendar");
        let expected_years = usize::try_from(fixture.last_year - fixture.first_year + 1).unwrap();
        assert_eq!(years.len(), expected_years, "{country}: years in fixture");
        for year in fixture.first_year..=fixture.last_year {
            let oracle = years
                .get(&year.to_string())
                .unwrap_or_else(|| panic!("{country} {year} missing from fixture"));
            let mut public = BTreeMap::new();
            let mut customary = BTreeMap::new();
            for h in cal.holidays(year) {
                let target = match h.kind {
                    HolidayKind::Public => &mut public,
                    HolidayKind::Customary => &mut customary,
                };
                target.insert(h.date.to_string(), h.name_en.to_string());
            }
            // is_public_holiday must agree with the list (a customary day that coincides with a
            // public holiday is still a public holiday).
            for h in cal.holidays(year) {
                assert_eq!(
                    cal.is_public_holiday(h.date),
                    public.contains_key(&h.date.to_string()),
                    "{country} {}",
                    h.date
                );
            }
            problems.extend(diff(country, year, "public", &public, &oracle.public));
            problems.extend(diff(
                country,
                year,
                "customary",
                &customary,
                &oracle.customary,
            ));
            checked += 1;
        }
    }
    assert_eq!(checked, 3 * 61);
    assert!(
        problems.is_empty(),
        "calendar disagrees with the oracle (holidays {}):\n{}",
        fixture.holidays_version,
        problems.join("\n")
    );
}

#[test]
fn holidays_are_sorted_and_in_their_year() {
    for country in supported_countries() {
        let cal = Calendar::new(country, &customary_day_ids(country).unwrap()).unwrap();
        for year in [1990_i16, 2024, 2100, -9999, 9999] {
            let hs = cal.holidays(year);
            assert!(
                hs.windows(2).all(|w| w[0].date <= w[1].date),
                "{country} {year}"
            );
            assert!(hs.iter().all(|h| h.date.year() == year), "{country} {year}");
        }
    }
}

fn any_country() -> impl Strategy<Value = Calendar> {
    (0..supported_countries().len(), any::<bool>()).prop_map(|(i, with_customary)| {
        let code = supported_countries()[i];
        let ids = if with_customary {
            customary_day_ids(code).unwrap()
        } else {
            Vec::new()
        };
        Calendar::new(code, &ids).unwrap()
    })
}

/// Dates from 1900 to 2200: the span deadlines live in, with margin for the proleptic rules.
fn any_date() -> impl Strategy<Value = Date> {
    (0_i64..110_000).prop_map(|days| date(1900, 1, 1).checked_add(days.days()).unwrap())
}

proptest! {
    #[test]
    fn easter_is_a_sunday_in_the_window(year in 1583_i16..=4099) {
        let e = easter_sunday(year);
        prop_assert_eq!(e.weekday(), Weekday::Sunday);
        prop_assert!(e >= date(year, 3, 22) && e <= date(year, 4, 25), "{}", e);
    }

    #[test]
    fn add_working_days_is_monotone_in_n(cal in any_country(), from in any_date(), n in 0_u32..400, k in 0_u32..30) {
        let a = cal.add_working_days(from, n);
        let b = cal.add_working_days(from, n + k);
        prop_assert!(a <= b);
        if k > 0 {
            prop_assert!(a < b);
        }
        // Composable: n + k working days is k working days after n working days.
        prop_assert_eq!(b, cal.add_working_days(a, k));
    }

    #[test]
    fn add_working_days_is_monotone_in_from(cal in any_country(), from in any_date(), later in 0_i64..60, n in 0_u32..60) {
        let from2 = from.checked_add(later.days()).unwrap();
        prop_assert!(cal.add_working_days(from, n) <= cal.add_working_days(from2, n));
    }

    #[test]
    fn add_working_days_lands_on_a_working_day(cal in any_country(), from in any_date(), n in 1_u32..400) {
        let due = cal.add_working_days(from, n);
        prop_assert!(due > from);
        prop_assert!(cal.is_working_day(due), "{} is not a working day", due);
        // Exactly n working days lie in (from, due].
        let mut count = 0;
        let mut d = from;
        while d < due {
            d = d.tomorrow().unwrap();
            if cal.is_working_day(d) {
                count += 1;
            }
        }
        prop_assert_eq!(count, n);
    }

    #[test]
    fn legal_due_is_about_a_month(cal in any_country(), received in any_date()) {
        let due = legal_due(&cal, received, 1);
        // The nominal end is 28..=31 days after receipt (31 Jan -> 28 Feb is the shortest,
        // a 31-day month the longest); rolling past a weekend and adjoining public holidays adds
        // at most 5 days (Maundy Thursday to Easter Monday in Denmark).
        prop_assert!(due >= received.checked_add(28.days()).unwrap(), "{} -> {}", received, due);
        prop_assert!(due <= received.checked_add(36.days()).unwrap(), "{} -> {}", received, due);
        prop_assert!(cal.is_legal_working_day(due));
        prop_assert!(legal_due(&cal, received, 3) >= due);
    }

    #[test]
    fn deadlines_are_consistent(cal in any_country(), received in any_date(), wd in 0_u32..60) {
        let d = deadlines(&cal, received, wd);
        prop_assert_eq!(d.received, received);
        prop_assert_eq!(d.promised, promised_due(&cal, received, wd));
        prop_assert_eq!(d.legal, legal_due(&cal, received, 1));
        prop_assert!(d.legal_extended >= d.legal);
        prop_assert!(d.promised >= received);
    }

    #[test]
    fn no_panics_anywhere_in_range(days in 0_i64..7_304_484, n in any::<u32>(), months in any::<u8>(), cal in any_country()) {
        let from = Date::MIN.checked_add(days.days()).unwrap_or(Date::MAX);
        let _ = cal.add_working_days(from, n.min(5_000));
        let _ = cal.add_working_days(from, n);
        let _ = legal_due(&cal, from, months);
        let _ = cal.holidays(from.year());
    }
}
