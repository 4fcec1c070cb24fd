//! The rule format that country calendars are written in.
//!
//! A country is a table of [`Rule`]s, so adding an EU member state means adding data in
//! `countries.rs`, not logic. The date rules below cover how European holiday laws define their
//! days: a fixed date, an offset from Easter Sunday, the n-th weekday of a month (e.g. "first
//! Monday of May"), and "the first given weekday on or after a date" (e.g. Sweden's Midsummer Day,
//! "the Saturday between 20 and 26 June").

use jiff::ToSpan;
use jiff::civil::{Date, Weekday};

use super::easter::easter_sunday;

/// Whether a day closes everything by law or only by custom.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HolidayKind {
    /// A statutory public holiday: not a working day for anyone, and a day that extends legal
    /// periods under Regulation (EEC, Euratom) No 1182/71.
    Public,
    /// A customary closing day (e.g. Christmas Eve in Denmark). Not a public holiday, so it never
    /// moves a legal deadline; an organisation opts in per policy when it is closed that day, and
    /// then it does not count towards the deadlines the organisation promises itself.
    Customary,
}

/// How a holiday's date is found in a given year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateRule {
    /// The same calendar date every year, e.g. 25 December. A date that does not exist in a year
    /// (29 February) yields no holiday that year.
    Fixed {
        /// 1..=12.
        month: i8,
        /// 1..=31.
        day: i8,
    },
    /// Days after (positive) or before (negative) Easter Sunday; Easter Sunday itself is 0.
    Easter {
        /// Offset in days.
        offset: i16,
    },
    /// The n-th `weekday` of `month`: `n` = 1 is the first, -1 the last. No holiday in a year
    /// where that weekday does not exist (a fifth Monday).
    NthWeekday {
        /// 1..=12.
        month: i8,
        /// 1..=5 from the start of the month, -1..=-5 from its end.
        n: i8,
        /// The weekday.
        weekday: Weekday,
    },
    /// The first `weekday` on or after `month`/`day`. This is how a law says "the Saturday
    /// between 20 and 26 June".
    WeekdayOnOrAfter {
        /// 1..=12.
        month: i8,
        /// 1..=31.
        day: i8,
        /// The weekday.
        weekday: Weekday,
    },
}

impl DateRule {
    /// The date in `year`, or `None` if the rule has no date that year (or the date would fall
    /// outside jiff's range).
    pub fn date_in(self, year: i16) -> Option<Date> {
        match self {
            DateRule::Fixed { month, day } => Date::new(year, month, day).ok(),
            DateRule::Easter { offset } => {
                let easter = easter_sunday(year);
                // easter_sunday clamps the year; a clamped date belongs to another year.
                if easter.year() != year {
                    return None;
                }
                easter.checked_add(i64::from(offset).days()).ok()
            }
            DateRule::NthWeekday { month, n, weekday } => Date::new(year, month, 1)
                .ok()?
                .nth_weekday_of_month(n, weekday)
                .ok(),
            DateRule::WeekdayOnOrAfter {
                month,
                day,
                weekday,
            } => {
                let start = Date::new(year, month, day).ok()?;
                let ahead = start.weekday().until(weekday);
                start.checked_add(i64::from(ahead).days()).ok()
            }
        }
    }
}

/// One holiday of one country: what it is called, how its date is found, and in which years the
/// law provided for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Stable identifier, snake_case English (`easter_monday`). Policies name customary days by
    /// this id, so it must never change once shipped.
    pub id: &'static str,
    /// English name, for the English admin console and notices.
    pub name_en: &'static str,
    /// Danish name: ombud's second interface language is Danish, whatever the country.
    pub name_da: &'static str,
    /// The name in the country's own language (equal to `name_da` for Denmark).
    pub name_local: &'static str,
    /// Statutory or customary.
    pub kind: HolidayKind,
    /// How the date is found.
    pub date: DateRule,
    /// First year the holiday applies (inclusive); `None` means since before any deadline ombud
    /// will compute.
    pub from: Option<i16>,
    /// Last year the holiday applies (inclusive), e.g. 2023 for Denmark's Store Bededag, which
    /// Act no. 214 of 6 March 2023 abolished from 2024.
    pub to: Option<i16>,
}

impl Rule {
    /// Whether the rule is in force in `year`.
    pub fn applies_in(&self, year: i16) -> bool {
        self.from.is_none_or(|from| year >= from) && self.to.is_none_or(|to| year <= to)
    }

    /// The holiday's date in `year`, if the rule is in force and the date exists.
    pub fn date_in(&self, year: i16) -> Option<Date> {
        if self.applies_in(year) {
            self.date.date_in(year)
        } else {
            None
        }
    }
}

/// A country's holiday table.
#[derive(Debug, PartialEq, Eq)]
pub struct CountryRules {
    /// ISO 3166-1 alpha-2 code, upper case.
    pub code: &'static str,
    /// English name of the country, for error messages and listings.
    pub name_en: &'static str,
    /// Public holidays and customary days, in calendar order for readability.
    pub rules: &'static [Rule],
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn fixed_dates_and_leap_days() {
        let christmas = DateRule::Fixed { month: 12, day: 25 };
        assert_eq!(christmas.date_in(2025), Some(date(2025, 12, 25)));
        let leap = DateRule::Fixed { month: 2, day: 29 };
        assert_eq!(leap.date_in(2024), Some(date(2024, 2, 29)));
        assert_eq!(leap.date_in(2025), None);
        let nonsense = DateRule::Fixed { month: 13, day: 1 };
        assert_eq!(nonsense.date_in(2025), None);
    }

    #[test]
    fn easter_offsets() {
        // Easter 2025 is 20 April: Good Friday two days before, Whit Monday 50 days after
        // (20 April + 50 = 20 April + 10 + 31 + 9 = 9 June).
        assert_eq!(
            DateRule::Easter { offset: -2 }.date_in(2025),
            Some(date(2025, 4, 18))
        );
        assert_eq!(
            DateRule::Easter { offset: 50 }.date_in(2025),
            Some(date(2025, 6, 9))
        );
        // Out-of-range years have no Easter rather than a clamped one.
        assert_eq!(DateRule::Easter { offset: 0 }.date_in(10_000), None);
    }

    #[test]
    fn nth_weekday() {
        // UK-style Early May bank holiday: first Monday of May. 1 May 2025 is a Thursday, so
        // the first Monday is 5 May.
        let early_may = DateRule::NthWeekday {
            month: 5,
            n: 1,
            weekday: Weekday::Monday,
        };
        assert_eq!(early_may.date_in(2025), Some(date(2025, 5, 5)));
        // Last Monday of May 2025: 31 May is a Saturday, so 26 May.
        let last_may = DateRule::NthWeekday {
            month: 5,
            n: -1,
            weekday: Weekday::Monday,
        };
        assert_eq!(last_may.date_in(2025), Some(date(2025, 5, 26)));
        // February 2025 has no fifth Monday.
        let fifth = DateRule::NthWeekday {
            month: 2,
            n: 5,
            weekday: Weekday::Monday,
        };
        assert_eq!(fifth.date_in(2025), None);
        let zeroth = DateRule::NthWeekday {
            month: 2,
            n: 0,
            weekday: Weekday::Monday,
        };
        assert_eq!(zeroth.date_in(2025), None);
    }

    #[test]
    fn weekday_on_or_after() {
        // Swedish Midsummer Day, the Saturday in 20..=26 June: 20 June 2026 is itself a Saturday
        // (1 Jan 2026 is a Thursday; 20 June is day 171, 170 days later, 24 weeks + 2 days).
        let midsummer = DateRule::WeekdayOnOrAfter {
            month: 6,
            day: 20,
            weekday: Weekday::Saturday,
        };
        assert_eq!(midsummer.date_in(2026), Some(date(2026, 6, 20)));
        // 2025: 20 June is a Friday, so Saturday 21 June.
        assert_eq!(midsummer.date_in(2025), Some(date(2025, 6, 21)));
        // Never past the end of the representable range.
        let late = DateRule::WeekdayOnOrAfter {
            month: 12,
            day: 31,
            weekday: Weekday::Monday,
        };
        // 9999-12-31 is a Friday; the following Monday does not exist.
        assert_eq!(late.date_in(9999), None);
    }

    #[test]
    fn year_ranges_are_inclusive() {
        let rule = Rule {
            id: "x",
            name_en: "x",
            name_da: "x",
            name_local: "x",
            kind: HolidayKind::Public,
            date: DateRule::Fixed { month: 1, day: 1 },
            from: Some(2000),
            to: Some(2010),
        };
        assert!(!rule.applies_in(1999));
        assert!(rule.applies_in(2000));
        assert!(rule.applies_in(2010));
        assert!(!rule.applies_in(2011));
        assert_eq!(rule.date_in(2011), None);
    }
}
