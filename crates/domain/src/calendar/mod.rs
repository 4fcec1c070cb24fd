//! Working-day calendars: which days an organisation works, per country.
//!
//! Deadlines for rights requests are counted in two different currencies. The policy's own
//! promise ("we answer within 7 working days") is counted in the organisation's working days,
//! which excludes weekends, public holidays *and* the customary closing days it chooses to observe
//! (Christmas Eve in Denmark, say). The legal limit of GDPR Art. 12(3) is counted under Regulation
//! (EEC, Euratom) No 1182/71, which only knows Saturdays, Sundays and public holidays. A
//! [`Calendar`] answers both questions: [`Calendar::is_working_day`] and
//! [`Calendar::is_legal_working_day`].
//!
//! Countries are data: each is a table of [`rules::Rule`]s in `countries.rs`. The weekend is
//! Saturday and Sunday everywhere, as in every EU member state.

mod countries;
mod easter;
pub mod rules;

use std::fmt;

use jiff::civil::{Date, Weekday};

use countries::COUNTRIES;
pub use easter::easter_sunday;
use rules::CountryRules;
pub use rules::HolidayKind;

/// Codes of the supported countries, sorted. Kept as a literal list (rather than derived from
/// the tables) so it can be a `'static` slice; a unit test keeps the two in step.
const SUPPORTED: &[&str] = &["DE", "DK", "SE"];

/// ISO 3166-1 alpha-2 codes of the countries that have a calendar, sorted.
pub fn supported_countries() -> &'static [&'static str] {
    SUPPORTED
}

/// The ids of the customary closing days an organisation in `country` may opt into, in calendar
/// order, or `None` if the country is not supported. An empty list means the country has none.
pub fn customary_day_ids(country: &str) -> Option<Vec<&'static str>> {
    find_country(country).map(customary_ids)
}

fn find_country(code: &str) -> Option<&'static CountryRules> {
    COUNTRIES.iter().find(|c| c.code.eq_ignore_ascii_case(code))
}

fn customary_ids(country: &'static CountryRules) -> Vec<&'static str> {
    let mut ids: Vec<&'static str> = Vec::new();
    for rule in country.rules {
        if rule.kind == HolidayKind::Customary && !ids.contains(&rule.id) {
            ids.push(rule.id);
        }
    }
    ids
}

/// Why a calendar could not be built from a policy's settings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The country code has no calendar.
    #[error(
        "no working-day calendar for country {0:?}; supported countries: {list}",
        list = SUPPORTED.join(", ")
    )]
    UnknownCountry(String),
    /// The customary day id is not one of the country's customary days.
    #[error(
        "{country} has no customary closing day {id:?}; known customary days: {list}",
        list = describe_list(known)
    )]
    UnknownCustomaryDay {
        /// The country code as given.
        country: String,
        /// The id that was not found.
        id: String,
        /// The customary day ids the country does have.
        known: Vec<&'static str>,
    },
}

fn describe_list(items: &[&str]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

/// One holiday or selected customary day on its date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Holiday {
    /// The date it falls on.
    pub date: Date,
    /// Stable id (`easter_monday`, `christmas_eve`); the same day has the same id in every
    /// country.
    pub id: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// Danish name (ombud's interface languages are English and Danish).
    pub name_da: &'static str,
    /// Name in the country's own language; equal to `name_da` for Denmark.
    pub name_local: &'static str,
    /// Statutory public holiday or customary closing day.
    pub kind: HolidayKind,
}

/// A country's working-day calendar plus the customary closing days one organisation observes.
///
/// Cheap to clone (a reference to static data and a short list of ids).
#[derive(Clone, PartialEq, Eq)]
pub struct Calendar {
    country: &'static CountryRules,
    /// Selected customary day ids, sorted and without duplicates, each pointing into the table.
    customary: Vec<&'static str>,
}

impl fmt::Debug for Calendar {
    /// Prints the country and the selected days, not the whole rule table.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Calendar")
            .field("country", &self.country.code)
            .field("customary", &self.customary)
            .finish()
    }
}

impl Calendar {
    /// The calendar of `country` (ISO 3166-1 alpha-2, e.g. `"DK"`; case-insensitive) for an
    /// organisation that also closes on the customary days named in `customary` (ids from
    /// [`customary_day_ids`]; duplicates are harmless).
    ///
    /// Unknown ids are an error rather than ignored: a typo in the policy would otherwise make
    /// the promised deadline silently earlier than the organisation thinks.
    pub fn new(country: &str, customary: &[&str]) -> Result<Calendar, CalendarError> {
        let rules =
            find_country(country).ok_or_else(|| CalendarError::UnknownCountry(country.into()))?;
        let known = customary_ids(rules);
        let mut selected = Vec::with_capacity(customary.len());
        for id in customary {
            match known.iter().find(|k| **k == *id) {
                Some(k) => selected.push(*k),
                None => {
                    return Err(CalendarError::UnknownCustomaryDay {
                        country: country.into(),
                        id: (*id).into(),
                        known,
                    });
                }
            }
        }
        selected.sort_unstable();
        selected.dedup();
        Ok(Calendar {
            country: rules,
            customary: selected,
        })
    }

    /// The country code, upper case (`"DK"`).
    pub fn country(&self) -> &str {
        self.country.code
    }

    /// The customary days this calendar closes on, sorted by id.
    pub fn customary_days(&self) -> &[&'static str] {
        &self.customary
    }

    /// Whether `rule` closes the organisation: every public holiday, and the customary days it
    /// selected.
    fn observes(&self, rule: &rules::Rule) -> bool {
        match rule.kind {
            HolidayKind::Public => true,
            HolidayKind::Customary => self.customary.contains(&rule.id),
        }
    }

    /// Public holidays plus the selected customary days in `year`, sorted by date (table order
    /// on the rare day that carries two, e.g. Ascension Day and May Day on 1 May 2008 in
    /// Sweden). Empty for years
    /// outside jiff's range.
    pub fn holidays(&self, year: i16) -> Vec<Holiday> {
        let mut out: Vec<Holiday> = self
            .country
            .rules
            .iter()
            .filter(|rule| self.observes(rule))
            .filter_map(|rule| {
                rule.date_in(year).map(|date| Holiday {
                    date,
                    id: rule.id,
                    name_en: rule.name_en,
                    name_da: rule.name_da,
                    name_local: rule.name_local,
                    kind: rule.kind,
                })
            })
            .collect();
        out.sort_by_key(|h| h.date);
        out
    }

    /// Whether `date` is a statutory public holiday (customary days are not).
    pub fn is_public_holiday(&self, date: Date) -> bool {
        self.country
            .rules
            .iter()
            .any(|rule| rule.kind == HolidayKind::Public && rule.date_in(date.year()) == Some(date))
    }

    /// Whether the organisation works on `date`: Monday to Friday, not a public holiday and not
    /// one of its customary closing days. This is the day that counts towards the promise.
    pub fn is_working_day(&self, date: Date) -> bool {
        is_weekday(date)
            && !self
                .country
                .rules
                .iter()
                .any(|rule| self.observes(rule) && rule.date_in(date.year()) == Some(date))
    }

    /// Whether `date` is a working day in the sense of Regulation 1182/71 Art. 3(4): Monday to
    /// Friday and not a public holiday. Customary closing days are ignored because the
    /// Regulation only extends periods for days the Member State designates as holidays, not
    /// for days one organisation chooses to close.
    pub fn is_legal_working_day(&self, date: Date) -> bool {
        is_weekday(date) && !self.is_public_holiday(date)
    }

    /// The date that is `n` working days (in the sense of [`Calendar::is_working_day`]) after
    /// `from`. `from` itself is never counted, whatever day it is: a request received on a
    /// working day has not had a full working day of handling on that day, and counting from the
    /// next day is also how Regulation 1182/71 Art. 3(1) treats the day of the event. `n = 0`
    /// returns `from` unchanged.
    ///
    /// Saturates: if the count would run past 9999-12-31 (the last date jiff represents), the
    /// result is [`Date::MAX`]. No real deadline gets there, and a saturated date is still "later
    /// than everything", which is the safe direction for a due date.
    pub fn add_working_days(&self, from: Date, n: u32) -> Date {
        if n == 0 {
            return from;
        }
        // Working days are a subset of days, so if fewer days than `n` remain in the range the
        // answer is the saturated one; this also bounds the loop below by the range size.
        let days_left = from.duration_until(Date::MAX).as_hours() / 24;
        if i64::from(n) > days_left {
            return Date::MAX;
        }
        let mut closed = ClosedDays::new(self, from.year());
        let mut day = from;
        let mut remaining = n;
        loop {
            day = match day.tomorrow() {
                Ok(next) => next,
                Err(_) => return Date::MAX,
            };
            if day.year() != closed.year {
                closed = ClosedDays::new(self, day.year());
            }
            if is_weekday(day) && !closed.dates.contains(&day) {
                remaining -= 1;
                if remaining == 0 {
                    return day;
                }
            }
        }
    }

    /// The first legal working day ([`Calendar::is_legal_working_day`]) on or after `date`, or
    /// [`Date::MAX`] if none is representable.
    pub fn legal_working_day_on_or_after(&self, date: Date) -> Date {
        let mut day = date;
        // Terminates: every week has weekdays, and at the end of the range tomorrow() fails.
        while !self.is_legal_working_day(day) {
            day = match day.tomorrow() {
                Ok(next) => next,
                Err(_) => return Date::MAX,
            };
        }
        day
    }
}

/// The days one calendar is closed on in one year (public holidays and selected customary
/// days), computed once per year so counting working days does not recompute Easter per day.
struct ClosedDays {
    year: i16,
    dates: Vec<Date>,
}

impl ClosedDays {
    fn new(calendar: &Calendar, year: i16) -> ClosedDays {
        ClosedDays {
            year,
            dates: calendar
                .holidays(year)
                .into_iter()
                .map(|h| h.date)
                .collect(),
        }
    }
}

fn is_weekday(date: Date) -> bool {
    !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn dk() -> Calendar {
        Calendar::new("DK", &[]).unwrap()
    }

    fn dk_all() -> Calendar {
        Calendar::new(
            "DK",
            &["constitution_day", "christmas_eve", "new_years_eve"],
        )
        .unwrap()
    }

    #[test]
    fn supported_list_matches_tables() {
        let codes: Vec<&str> = COUNTRIES.iter().map(|c| c.code).collect();
        assert_eq!(codes, supported_countries());
    }

    #[test]
    fn unknown_country_lists_supported() {
        let err = Calendar::new("XX", &[]).unwrap_err();
        assert_eq!(err, CalendarError::UnknownCountry("XX".into()));
        let msg = err.to_string();
        assert!(msg.contains("DE, DK, SE"), "{msg}");
        assert!(msg.contains("\"XX\""), "{msg}");
    }

    #[test]
    fn unknown_customary_day_lists_known() {
        let err = Calendar::new("DK", &["christmas_eve", "easter_monday"]).unwrap_err();
        assert_eq!(
            err,
            CalendarError::UnknownCustomaryDay {
                country: "DK".into(),
                id: "easter_monday".into(),
                known: vec!["constitution_day", "christmas_eve", "new_years_eve"],
            }
        );
        let msg = err.to_string();
        assert!(
            msg.contains("constitution_day, christmas_eve, new_years_eve"),
            "{msg}"
        );
        let de = Calendar::new("DE", &["christmas_eve"]).unwrap_err();
        assert!(
            de.to_string().ends_with("known customary days: none"),
            "{de}"
        );
    }

    #[test]
    fn country_codes_are_case_insensitive_and_normalised() {
        let cal = Calendar::new("dk", &["christmas_eve", "christmas_eve"]).unwrap();
        assert_eq!(cal.country(), "DK");
        assert_eq!(cal.customary_days(), &["christmas_eve"]);
        assert_eq!(
            format!("{cal:?}"),
            r#"Calendar { country: "DK", customary: ["christmas_eve"] }"#
        );
    }

    #[test]
    fn customary_ids() {
        assert_eq!(
            customary_day_ids("DK"),
            Some(vec!["constitution_day", "christmas_eve", "new_years_eve"])
        );
        assert_eq!(
            customary_day_ids("SE"),
            Some(vec!["midsummer_eve", "christmas_eve", "new_years_eve"])
        );
        assert_eq!(customary_day_ids("DE"), Some(vec![]));
        assert_eq!(customary_day_ids("FR"), None);
    }

    #[test]
    fn denmark_2025() {
        let dates: Vec<(Date, &str)> = dk().holidays(2025).iter().map(|h| (h.date, h.id)).collect();
        // Easter 2025 is 20 April; offsets -3, -2, 0, 1, 39, 49, 50.
        assert_eq!(
            dates,
            vec![
                (date(2025, 1, 1), "new_years_day"),
                (date(2025, 4, 17), "maundy_thursday"),
                (date(2025, 4, 18), "good_friday"),
                (date(2025, 4, 20), "easter_sunday"),
                (date(2025, 4, 21), "easter_monday"),
                (date(2025, 5, 29), "ascension_day"),
                (date(2025, 6, 8), "whit_sunday"),
                (date(2025, 6, 9), "whit_monday"),
                (date(2025, 12, 25), "christmas_day"),
                (date(2025, 12, 26), "second_day_of_christmas"),
            ]
        );
        let all = dk_all().holidays(2025);
        assert_eq!(all.len(), 13);
        let eve = all.iter().find(|h| h.id == "christmas_eve").unwrap();
        assert_eq!(eve.date, date(2025, 12, 24));
        assert_eq!(eve.kind, HolidayKind::Customary);
        assert_eq!(eve.name_da, "Juleaftensdag");
        assert_eq!(eve.name_en, "Christmas Eve");
    }

    #[test]
    fn store_bededag_abolished_from_2024() {
        let cal = dk();
        // Easter 2023 is 9 April; + 26 days = 5 May 2023, a Friday.
        assert!(cal.is_public_holiday(date(2023, 5, 5)));
        assert!(!cal.is_working_day(date(2023, 5, 5)));
        assert!(!cal.is_legal_working_day(date(2023, 5, 5)));
        // Easter 2024 is 31 March; + 26 days = 26 April 2024, a Friday, now an ordinary day.
        assert!(!cal.is_public_holiday(date(2024, 4, 26)));
        assert!(cal.is_working_day(date(2024, 4, 26)));
        assert!(cal.is_legal_working_day(date(2024, 4, 26)));
    }

    #[test]
    fn customary_days_count_for_work_not_for_law() {
        let none = dk();
        let all = dk_all();
        // 24 December 2025 is a Wednesday.
        let eve = date(2025, 12, 24);
        assert!(!none.is_public_holiday(eve) && !all.is_public_holiday(eve));
        assert!(none.is_working_day(eve));
        assert!(!all.is_working_day(eve));
        assert!(all.is_legal_working_day(eve));
        // Weekends are never working days, holidays or not.
        assert!(!none.is_working_day(date(2025, 12, 27)));
        assert!(!none.is_legal_working_day(date(2025, 12, 28)));
    }

    #[test]
    fn add_working_days_over_christmas() {
        // Received Wednesday 24 Dec 2025. 25 Thu and 26 Fri are public holidays, 27/28 the
        // weekend. With the customary days: 29 Mon (1), 30 Tue (2), 31 Wed closed, 1 Jan Thu
        // public holiday, 2 Fri (3), 5 Mon (4), 6 Tue (5), 7 Wed (6), 8 Thu (7).
        assert_eq!(
            dk_all().add_working_days(date(2025, 12, 24), 7),
            date(2026, 1, 8)
        );
        // Without them 31 Dec counts: 29 (1), 30 (2), 31 (3), 2 Jan (4), 5 (5), 6 (6), 7 (7).
        assert_eq!(
            dk().add_working_days(date(2025, 12, 24), 7),
            date(2026, 1, 7)
        );
    }

    #[test]
    fn add_working_days_over_easter() {
        // Received Wednesday 16 April 2025. 17-21 April are Maundy Thursday, Good Friday, the
        // weekend and Easter Monday. 22 Tue (1), 23 (2), 24 (3), 25 Fri (4), 28 Mon (5),
        // 29 (6), 30 Wed (7).
        assert_eq!(
            dk().add_working_days(date(2025, 4, 16), 7),
            date(2025, 4, 30)
        );
        // One working day after the Wednesday before Easter is the Tuesday after it.
        assert_eq!(
            dk().add_working_days(date(2025, 4, 16), 1),
            date(2025, 4, 22)
        );
    }

    #[test]
    fn add_working_days_edge_cases() {
        let cal = dk();
        let sat = date(2025, 3, 8);
        assert_eq!(cal.add_working_days(sat, 0), sat);
        // From a Saturday, the first working day is Monday.
        assert_eq!(cal.add_working_days(sat, 1), date(2025, 3, 10));
        // Friday + 1 = Monday.
        assert_eq!(cal.add_working_days(date(2025, 3, 7), 1), date(2025, 3, 10));
        // Saturation at the end of the range, however large n is.
        assert_eq!(cal.add_working_days(Date::MAX, 1), Date::MAX);
        assert_eq!(cal.add_working_days(date(9999, 12, 1), 1000), Date::MAX);
        assert_eq!(cal.add_working_days(Date::MIN, u32::MAX), Date::MAX);
        // 9999-12-31 is a Friday and not a holiday, so it is reachable exactly.
        assert_eq!(Date::MAX.weekday(), Weekday::Friday);
        assert_eq!(cal.add_working_days(date(9999, 12, 30), 1), Date::MAX);
        // A count ending just before the end of the range is exact: 9999-12-27 is a Monday;
        // 28 (1), 29 (2), 30 (3).
        assert_eq!(
            cal.add_working_days(date(9999, 12, 27), 3),
            date(9999, 12, 30)
        );
    }

    #[test]
    fn holidays_out_of_range_are_empty() {
        assert!(dk().holidays(10_000).is_empty());
        assert!(dk().holidays(i16::MIN).is_empty());
        assert!(!dk().holidays(9999).is_empty());
        assert!(!dk().holidays(-9999).is_empty());
    }

    #[test]
    fn legal_working_day_on_or_after() {
        let cal = dk();
        // Saturday 27 May 2023, Whit Sunday 28, Whit Monday 29 -> Tuesday 30 May.
        assert_eq!(
            cal.legal_working_day_on_or_after(date(2023, 5, 27)),
            date(2023, 5, 30)
        );
        let tue = date(2023, 5, 30);
        assert_eq!(cal.legal_working_day_on_or_after(tue), tue);
        // 9999-12-31 is a Friday, so Christmas 9999 is a Saturday and 26 Dec a Sunday (both
        // holidays anyway) -> Monday 27.
        assert_eq!(
            cal.legal_working_day_on_or_after(date(9999, 12, 25)),
            date(9999, 12, 27)
        );
    }

    #[test]
    fn sweden_and_germany_spot_checks() {
        let se = Calendar::new("SE", &["midsummer_eve"]).unwrap();
        // Midsummer Eve 2025 is Friday 20 June, Midsummer Day Saturday 21 June.
        assert!(!se.is_working_day(date(2025, 6, 20)));
        assert!(se.is_legal_working_day(date(2025, 6, 20)));
        assert!(se.is_public_holiday(date(2025, 6, 21)));
        // National Day from 2005, Whit Monday until 2004.
        assert!(se.is_public_holiday(date(2005, 6, 6)));
        // Easter 2004 is 11 April, + 50 = 31 May; Easter 2005 is 27 March, + 50 = 16 May.
        assert!(se.is_public_holiday(date(2004, 5, 31)));
        assert!(!se.is_public_holiday(date(2005, 5, 16)));
        assert!(!se.is_public_holiday(date(2004, 6, 7)));
        let de = Calendar::new("DE", &[]).unwrap();
        assert!(de.is_public_holiday(date(2017, 10, 31)));
        assert!(!de.is_public_holiday(date(2018, 10, 31)));
        assert!(de.is_public_holiday(date(2025, 10, 3)));
    }
}
