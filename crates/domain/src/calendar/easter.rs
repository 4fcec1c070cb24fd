//! Easter Sunday by the Gregorian computus.
//!
//! Most movable holidays in the EU hang off Easter, so every country table needs it. It is
//! computed here rather than tabulated because a table would end somewhere and the calendar has
//! to answer for any date a deadline can reach.

use jiff::civil::Date;

/// First and last year jiff's civil dates can represent.
const MIN_YEAR: i16 = -9999;
const MAX_YEAR: i16 = 9999;

/// Easter Sunday of `year` in the Gregorian calendar (the Western church date that the holiday
/// laws of Denmark, Sweden and Germany refer to).
///
/// This is the anonymous Gregorian algorithm (Meeus/Jones/Butcher): the golden number gives the
/// position in the 19-year lunar cycle, the century terms apply the solar and lunar corrections,
/// and the result is the Sunday after the ecclesiastical full moon on or after 21 March. It
/// always lands on a Sunday between 22 March and 25 April.
///
/// The arithmetic uses floor division and a non-negative remainder, so the proleptic extension to
/// years before 1583 and to negative years is periodic and still yields a Sunday in that window
/// (checked for every year jiff supports in the tests). Such dates are of course not historical
/// Easter dates; they only keep the calendar total.
///
/// `year` is clamped to jiff's range `-9999..=9999`: an `i16` can hold years that no
/// [`Date`] can, and a date in the nearest representable year is the only answer that neither
/// panics nor forces every caller to handle an error that cannot occur for real deadlines.
pub fn easter_sunday(year: i16) -> Date {
    let y = i32::from(year.clamp(MIN_YEAR, MAX_YEAR));
    let a = y.rem_euclid(19);
    let b = y.div_euclid(100);
    let c = y.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let n = h + l - 7 * m + 114;
    let month = n.div_euclid(31);
    let day = n.rem_euclid(31) + 1;
    // h is in 0..30 and l in 0..7, so n is in 107..=150 and month is 3 or 4, day 1..=31; the
    // computus guarantees the pair is a real date between 22 March and 25 April. Falling back
    // to 22 March (the earliest Easter) keeps the function total without an `expect`.
    let (month, day) = (
        i8::try_from(month).unwrap_or(3),
        i8::try_from(day).unwrap_or(22),
    );
    let year = i16::try_from(y).unwrap_or(MAX_YEAR);
    Date::new(year, month, day).unwrap_or(Date::constant(2000, 3, 22))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{Weekday, date};

    #[test]
    fn known_dates() {
        // Published Easter dates (church calendars).
        assert_eq!(easter_sunday(2024), date(2024, 3, 31));
        assert_eq!(easter_sunday(2025), date(2025, 4, 20));
        assert_eq!(easter_sunday(2026), date(2026, 4, 5));
        assert_eq!(easter_sunday(2019), date(2019, 4, 21));
        // 2038 has the latest possible Easter, 25 April.
        assert_eq!(easter_sunday(2038), date(2038, 4, 25));
        // 2008 had the second-earliest possible Easter, 23 March.
        assert_eq!(easter_sunday(2008), date(2008, 3, 23));
        // 1818 and 2285 have the earliest possible Easter, 22 March.
        assert_eq!(easter_sunday(1818), date(1818, 3, 22));
        assert_eq!(easter_sunday(2285), date(2285, 3, 22));
        // First Gregorian Easter.
        assert_eq!(easter_sunday(1583), date(1583, 4, 10));
        assert_eq!(easter_sunday(2000), date(2000, 4, 23));
    }

    #[test]
    fn every_representable_year_is_a_sunday_in_the_window() {
        for year in MIN_YEAR..=MAX_YEAR {
            let e = easter_sunday(year);
            assert_eq!(e.year(), year);
            assert_eq!(e.weekday(), Weekday::Sunday, "{e}");
            let earliest = date(year, 3, 22);
            let latest = date(year, 4, 25);
            assert!(earliest <= e && e <= latest, "{e}");
        }
    }

    #[test]
    fn out_of_range_years_clamp() {
        assert_eq!(easter_sunday(i16::MAX), easter_sunday(MAX_YEAR));
        assert_eq!(easter_sunday(i16::MIN), easter_sunday(MIN_YEAR));
    }
}
