//! Holiday tables, one per country. This file is data: adding a country means adding a table
//! and listing it in [`COUNTRIES`].
//!
//! Every table is checked year by year against an independent oracle (the Python `holidays`
//! package, see `scripts/gen-holiday-fixture.py` and `tests/calendar.rs`). Sources for the law
//! itself are named per table.

use jiff::civil::Weekday;

use super::rules::{CountryRules, DateRule, HolidayKind, Rule};

use DateRule::{Easter, Fixed, WeekdayOnOrAfter};
use HolidayKind::{Customary, Public};

/// Every supported country, sorted by code.
pub(crate) const COUNTRIES: &[CountryRules] = &[GERMANY, DENMARK, SWEDEN];

/// A rule in force in every year; keeps the tables short.
const fn always(
    id: &'static str,
    name_en: &'static str,
    name_da: &'static str,
    name_local: &'static str,
    kind: HolidayKind,
    date: DateRule,
) -> Rule {
    Rule {
        id,
        name_en,
        name_da,
        name_local,
        kind,
        date,
        from: None,
        to: None,
    }
}

/// Denmark. Public holidays per the Helligdagsloven (consolidated act on public holidays); Store
/// Bededag abolished from 2024 by Act no. 214 of 6 March 2023. The customary days are the ones
/// most Danish employers close on by collective agreement or custom: Grundlovsdag (half or whole
/// day), Juleaftensdag and Nytårsaftensdag. They are not public holidays.
pub(crate) const DENMARK: CountryRules = CountryRules {
    code: "DK",
    name_en: "Denmark",
    rules: &[
        always(
            "new_years_day",
            "New Year's Day",
            "Nytårsdag",
            "Nytårsdag",
            Public,
            Fixed { month: 1, day: 1 },
        ),
        always(
            "maundy_thursday",
            "Maundy Thursday",
            "Skærtorsdag",
            "Skærtorsdag",
            Public,
            Easter { offset: -3 },
        ),
        always(
            "good_friday",
            "Good Friday",
            "Langfredag",
            "Langfredag",
            Public,
            Easter { offset: -2 },
        ),
        always(
            "easter_sunday",
            "Easter Sunday",
            "Påskedag",
            "Påskedag",
            Public,
            Easter { offset: 0 },
        ),
        always(
            "easter_monday",
            "Easter Monday",
            "2. påskedag",
            "2. påskedag",
            Public,
            Easter { offset: 1 },
        ),
        Rule {
            id: "great_prayer_day",
            name_en: "Great Prayer Day",
            name_da: "Store bededag",
            name_local: "Store bededag",
            kind: Public,
            date: Easter { offset: 26 },
            from: None,
            to: Some(2023),
        },
        always(
            "ascension_day",
            "Ascension Day",
            "Kristi himmelfartsdag",
            "Kristi himmelfartsdag",
            Public,
            Easter { offset: 39 },
        ),
        always(
            "whit_sunday",
            "Whit Sunday",
            "Pinsedag",
            "Pinsedag",
            Public,
            Easter { offset: 49 },
        ),
        always(
            "whit_monday",
            "Whit Monday",
            "2. pinsedag",
            "2. pinsedag",
            Public,
            Easter { offset: 50 },
        ),
        always(
            "constitution_day",
            "Constitution Day",
            "Grundlovsdag",
            "Grundlovsdag",
            Customary,
            Fixed { month: 6, day: 5 },
        ),
        always(
            "christmas_eve",
            "Christmas Eve",
            "Juleaftensdag",
            "Juleaftensdag",
            Customary,
            Fixed { month: 12, day: 24 },
        ),
        always(
            "christmas_day",
            "Christmas Day",
            "Juledag",
            "Juledag",
            Public,
            Fixed { month: 12, day: 25 },
        ),
        always(
            "second_day_of_christmas",
            "Second Day of Christmas",
            "2. juledag",
            "2. juledag",
            Public,
            Fixed { month: 12, day: 26 },
        ),
        always(
            "new_years_eve",
            "New Year's Eve",
            "Nytårsaftensdag",
            "Nytårsaftensdag",
            Customary,
            Fixed { month: 12, day: 31 },
        ),
    ],
};

/// Sweden. Public holidays per the Act on public holidays (lag 1989:253 om allmänna helgdagar):
/// National Day replaced Whit Monday from 2005; Midsummer Day and All Saints' Day are the
/// Saturdays in 20–26 June and 31 Oct–6 Nov (since 1953). The customary days are the three that
/// the Annual Leave Act (semesterlag 1977:480, s. 7) treats like Sundays without making them
/// public holidays. The table is exact for working-day purposes from 1953 on (the Annunciation
/// Sunday abolished in 1990 is omitted: it was always a Sunday).
pub(crate) const SWEDEN: CountryRules = CountryRules {
    code: "SE",
    name_en: "Sweden",
    rules: &[
        always(
            "new_years_day",
            "New Year's Day",
            "Nytårsdag",
            "Nyårsdagen",
            Public,
            Fixed { month: 1, day: 1 },
        ),
        always(
            "epiphany",
            "Epiphany",
            "Helligtrekongersdag",
            "Trettondedag jul",
            Public,
            Fixed { month: 1, day: 6 },
        ),
        always(
            "good_friday",
            "Good Friday",
            "Langfredag",
            "Långfredagen",
            Public,
            Easter { offset: -2 },
        ),
        always(
            "easter_sunday",
            "Easter Sunday",
            "Påskedag",
            "Påskdagen",
            Public,
            Easter { offset: 0 },
        ),
        always(
            "easter_monday",
            "Easter Monday",
            "2. påskedag",
            "Annandag påsk",
            Public,
            Easter { offset: 1 },
        ),
        always(
            "may_day",
            "May Day",
            "1. maj",
            "Första maj",
            Public,
            Fixed { month: 5, day: 1 },
        ),
        always(
            "ascension_day",
            "Ascension Day",
            "Kristi himmelfartsdag",
            "Kristi himmelsfärdsdag",
            Public,
            Easter { offset: 39 },
        ),
        Rule {
            id: "national_day",
            name_en: "National Day of Sweden",
            name_da: "Sveriges nationaldag",
            name_local: "Sveriges nationaldag",
            kind: Public,
            date: Fixed { month: 6, day: 6 },
            from: Some(2005),
            to: None,
        },
        always(
            "whit_sunday",
            "Whit Sunday",
            "Pinsedag",
            "Pingstdagen",
            Public,
            Easter { offset: 49 },
        ),
        Rule {
            id: "whit_monday",
            name_en: "Whit Monday",
            name_da: "2. pinsedag",
            name_local: "Annandag pingst",
            kind: Public,
            date: Easter { offset: 50 },
            from: None,
            to: Some(2004),
        },
        always(
            "midsummer_eve",
            "Midsummer Eve",
            "Midsommeraften",
            "Midsommarafton",
            Customary,
            WeekdayOnOrAfter {
                month: 6,
                day: 19,
                weekday: Weekday::Friday,
            },
        ),
        always(
            "midsummer_day",
            "Midsummer Day",
            "Midsommerdag",
            "Midsommardagen",
            Public,
            WeekdayOnOrAfter {
                month: 6,
                day: 20,
                weekday: Weekday::Saturday,
            },
        ),
        always(
            "all_saints_day",
            "All Saints' Day",
            "Allehelgensdag",
            "Alla helgons dag",
            Public,
            WeekdayOnOrAfter {
                month: 10,
                day: 31,
                weekday: Weekday::Saturday,
            },
        ),
        always(
            "christmas_eve",
            "Christmas Eve",
            "Juleaftensdag",
            "Julafton",
            Customary,
            Fixed { month: 12, day: 24 },
        ),
        always(
            "christmas_day",
            "Christmas Day",
            "Juledag",
            "Juldagen",
            Public,
            Fixed { month: 12, day: 25 },
        ),
        always(
            "second_day_of_christmas",
            "Second Day of Christmas",
            "2. juledag",
            "Annandag jul",
            Public,
            Fixed { month: 12, day: 26 },
        ),
        always(
            "new_years_eve",
            "New Year's Eve",
            "Nytårsaftensdag",
            "Nyårsafton",
            Customary,
            Fixed { month: 12, day: 31 },
        ),
    ],
};

/// Germany, nationwide holidays only: the days that are public holidays in every Land (each Land
/// legislates its own list; Epiphany, Corpus Christi, Reformation Day and others apply only in
/// some). Reformation Day 2017 (500th anniversary) was a one-off holiday in all sixteen Länder.
/// Buß- und Bettag was nationwide until 1994, when it was given up to fund long-term care
/// insurance. The table is exact from reunification (1990) on. There are no customary days:
/// Heiligabend and Silvester are at most half days by custom.
pub(crate) const GERMANY: CountryRules = CountryRules {
    code: "DE",
    name_en: "Germany",
    rules: &[
        always(
            "new_years_day",
            "New Year's Day",
            "Nytårsdag",
            "Neujahr",
            Public,
            Fixed { month: 1, day: 1 },
        ),
        always(
            "good_friday",
            "Good Friday",
            "Langfredag",
            "Karfreitag",
            Public,
            Easter { offset: -2 },
        ),
        always(
            "easter_monday",
            "Easter Monday",
            "2. påskedag",
            "Ostermontag",
            Public,
            Easter { offset: 1 },
        ),
        always(
            "labour_day",
            "Labour Day",
            "1. maj",
            "Tag der Arbeit",
            Public,
            Fixed { month: 5, day: 1 },
        ),
        always(
            "ascension_day",
            "Ascension Day",
            "Kristi himmelfartsdag",
            "Christi Himmelfahrt",
            Public,
            Easter { offset: 39 },
        ),
        always(
            "whit_monday",
            "Whit Monday",
            "2. pinsedag",
            "Pfingstmontag",
            Public,
            Easter { offset: 50 },
        ),
        Rule {
            id: "german_unity_day",
            name_en: "German Unity Day",
            name_da: "Tysklands genforeningsdag",
            name_local: "Tag der Deutschen Einheit",
            kind: Public,
            date: Fixed { month: 10, day: 3 },
            from: Some(1990),
            to: None,
        },
        Rule {
            id: "reformation_day",
            name_en: "Reformation Day",
            name_da: "Reformationsdag",
            name_local: "Reformationstag",
            kind: Public,
            date: Fixed { month: 10, day: 31 },
            from: Some(2017),
            to: Some(2017),
        },
        Rule {
            id: "day_of_repentance_and_prayer",
            name_en: "Day of Repentance and Prayer",
            name_da: "Bods- og bededag",
            name_local: "Buß- und Bettag",
            kind: Public,
            // The Wednesday before 23 November, i.e. the Wednesday in 16..=22 November.
            date: WeekdayOnOrAfter {
                month: 11,
                day: 16,
                weekday: Weekday::Wednesday,
            },
            from: None,
            to: Some(1994),
        },
        always(
            "christmas_day",
            "Christmas Day",
            "Juledag",
            "Erster Weihnachtstag",
            Public,
            Fixed { month: 12, day: 25 },
        ),
        always(
            "second_day_of_christmas",
            "Second Day of Christmas",
            "2. juledag",
            "Zweiter Weihnachtstag",
            Public,
            Fixed { month: 12, day: 26 },
        ),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_well_formed() {
        let mut codes: Vec<_> = COUNTRIES.iter().map(|c| c.code).collect();
        let sorted = {
            let mut s = codes.clone();
            s.sort_unstable();
            s
        };
        assert_eq!(codes, sorted, "COUNTRIES must be sorted by code");
        codes.dedup();
        assert_eq!(codes.len(), COUNTRIES.len(), "duplicate country code");

        for country in COUNTRIES {
            assert_eq!(country.code.len(), 2);
            assert!(country.code.bytes().all(|b| b.is_ascii_uppercase()));
            for rule in country.rules {
                assert!(
                    !rule.id.is_empty()
                        && rule
                            .id
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                    "{}: id {:?} is not snake_case",
                    country.code,
                    rule.id
                );
                assert!(!rule.name_en.is_empty() && !rule.name_da.is_empty());
                assert!(!rule.name_local.is_empty());
                if let (Some(from), Some(to)) = (rule.from, rule.to) {
                    assert!(
                        from <= to,
                        "{}: {} has an empty range",
                        country.code,
                        rule.id
                    );
                }
                // Every rule yields a date in every year it applies, across the years a deadline
                // can plausibly touch.
                for year in 1900..=2200 {
                    assert_eq!(
                        rule.applies_in(year),
                        rule.date_in(year).is_some(),
                        "{}: {} in {year}",
                        country.code,
                        rule.id
                    );
                }
            }
            // A customary id must not double as a public one: policies select customary days by
            // id, and an id naming two kinds would be ambiguous.
            for c in country.rules.iter().filter(|r| r.kind == Customary) {
                assert!(
                    country
                        .rules
                        .iter()
                        .all(|r| r.id != c.id || r.kind == Customary),
                    "{}: {} is both customary and public",
                    country.code,
                    c.id
                );
            }
        }
    }
}
