//! Deadlines for rights requests: the organisation's promise and the legal limit.
//!
//! Every request carries two clocks, started by the same event (receipt):
//!
//! - **promised**: what the organisation's policy commits to, e.g. "within 7 working days".
//!   Counted in the organisation's own working days ([`Calendar::is_working_day`]), which skip
//!   weekends, public holidays and the customary days it has chosen to close on. A promise is
//!   made by the organisation about its own staff; if nobody works on Christmas Eve, a day of
//!   the promise on Christmas Eve would be a day nobody could spend on the request.
//! - **legal** and **legal_extended**: GDPR Art. 12(3), "without undue delay and in any event
//!   within one month of receipt", extendable "by two further months where necessary". The
//!   GDPR does not define how a month is counted, so Regulation (EEC, Euratom) No 1182/71 on
//!   periods, dates and time limits applies (as the EDPB's Guidelines 01/2022 on the right of
//!   access also say). That Regulation only recognises Saturdays, Sundays and public holidays of
//!   the Member State ([`Calendar::is_legal_working_day`]); an organisation's customary closing
//!   days cannot lengthen a statutory period, so they are ignored here.
//!
//! In both, the day of receipt is not counted: 1182/71 Art. 3(1) says the day during which the
//! event occurs does not fall within the period, and the promise follows the same convention so
//! that both clocks start together and a request arriving at 16:55 is not charged a working day.

use jiff::ToSpan;
use jiff::civil::Date;

use crate::calendar::Calendar;

/// The dates one request is due by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadlines {
    /// The day the request was received (day 0; not counted).
    pub received: Date,
    /// The organisation's own promise: `working_days` of its working days after receipt.
    pub promised: Date,
    /// The legal limit of GDPR Art. 12(3): one month after receipt, per Regulation 1182/71.
    pub legal: Date,
    /// The legal limit when the controller extends by the two further months Art. 12(3) allows
    /// (it must tell the data subject within the first month, with reasons).
    pub legal_extended: Date,
}

/// The promised due date: `working_days` working days of `cal` after `received`, the day of
/// receipt not counted. Customary closing days the calendar observes are skipped, because the
/// promise is about days the organisation actually works. Saturates at [`Date::MAX`].
pub fn promised_due(cal: &Calendar, received: Date, working_days: u32) -> Date {
    cal.add_working_days(received, working_days)
}

/// The end of a period of `months` months from `received`, counted as Regulation (EEC, Euratom)
/// No 1182/71 Art. 3 requires (the GDPR Art. 12(3) period for `months` = 1):
///
/// 1. The day of receipt is not counted (Art. 3(1)), so the period ends on the day of the last
///    month that has the same date as the day of receipt (Art. 3(2)(c)): received 15 March,
///    due 15 April.
/// 2. If that date does not exist in the last month, the period ends on that month's last day
///    (Art. 3(2)(c)): received 31 January, due 28 February (29 in a leap year).
/// 3. If that day is a Saturday, Sunday or public holiday, the period ends on the next working
///    day (Art. 3(4)). Only public holidays count ([`Calendar::is_legal_working_day`]): a
///    company's customary closing days are not holidays "designated as such in the Member
///    State" (Art. 2(1)).
///
/// `months` = 0 gives the day of receipt, moved forward like any other end date. If the end would
/// lie past 9999-12-31 the result is [`Date::MAX`], the latest date jiff can hold.
pub fn legal_due(cal: &Calendar, received: Date, months: u8) -> Date {
    // jiff clamps to the last day of the month when the day does not exist, which is exactly
    // rule 2 above.
    let nominal = received
        .checked_add(i64::from(months).months())
        .unwrap_or(Date::MAX);
    cal.legal_working_day_on_or_after(nominal)
}

/// All deadlines for a request received on `received` under a policy promising `working_days`
/// working days.
///
/// `legal_extended` adds the two further months of Art. 12(3) to the unshifted end of the first
/// month, and only then moves a weekend or holiday to the next working day. Counting three months
/// from receipt instead would give a later date when the first month was clamped (received
/// 31 January: 30 April against 28 April); ombud takes the earlier, cautious reading, so an
/// organisation that meets it meets either.
pub fn deadlines(cal: &Calendar, received: Date, working_days: u32) -> Deadlines {
    let first_month_end = received.checked_add(1.months()).unwrap_or(Date::MAX);
    let extended_end = first_month_end.checked_add(2.months()).unwrap_or(Date::MAX);
    Deadlines {
        received,
        promised: promised_due(cal, received, working_days),
        legal: legal_due(cal, received, 1),
        legal_extended: cal.legal_working_day_on_or_after(extended_end),
    }
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
    fn month_end_clamps_then_rolls_to_monday() {
        // 31 Jan 2026 + 1 month: February 2026 has 28 days, so 28 Feb 2026. 1 Jan 2026 is a
        // Thursday, so 1 Feb is a Sunday (31 days later) and 28 Feb a Saturday; Sunday 1 March
        // is also off, so the period ends Monday 2 March 2026.
        assert_eq!(legal_due(&dk(), date(2026, 1, 31), 1), date(2026, 3, 2));
    }

    #[test]
    fn month_end_clamps_to_leap_day() {
        // 31 Jan 2024 + 1 month: 2024 is a leap year, so 29 Feb 2024. 1 Jan 2024 is a Monday,
        // 1 Feb a Thursday (31 days later) and 29 Feb a Thursday too, a working day.
        assert_eq!(legal_due(&dk(), date(2024, 1, 31), 1), date(2024, 2, 29));
        // Three months: 30 April 2024 does not need clamping past 30 (April has 30 days). 1 April
        // 2024 is Easter Monday (a Monday), so 30 April is a Tuesday.
        assert_eq!(legal_due(&dk(), date(2024, 1, 31), 3), date(2024, 4, 30));
    }

    #[test]
    fn same_date_in_the_next_month() {
        // Received Saturday 15 March 2025 (1 Jan 2025 is a Wednesday; 15 March is 73 days later,
        // 10 weeks + 3 days). Due Tuesday 15 April 2025 (15 March + 31 days = + 4 weeks + 3).
        assert_eq!(legal_due(&dk(), date(2025, 3, 15), 1), date(2025, 4, 15));
        assert_eq!(legal_due(&dk(), date(2025, 3, 15), 0), date(2025, 3, 17));
    }

    #[test]
    fn legal_end_on_maundy_thursday_rolls_past_easter() {
        // Received Monday 17 March 2025; one month later is 17 April 2025, Maundy Thursday
        // (Easter 2025 is 20 April). 17 Thu, 18 Fri, 19 Sat, 20 Sun, 21 Mon are all off, so the
        // period ends Tuesday 22 April 2025.
        assert_eq!(legal_due(&dk(), date(2025, 3, 17), 1), date(2025, 4, 22));
    }

    #[test]
    fn received_just_before_easter() {
        // Received Wednesday 16 April 2025, the day before Maundy Thursday.
        // promised: 17-21 April are off (Maundy Thursday to Easter Monday); 22 Tue (1), 23 (2),
        // 24 (3), 25 Fri (4), 28 Mon (5), 29 (6), 30 Wed (7).
        // legal: 16 May 2025; 1 May 2025 is a Thursday, so 16 May is a Friday and, Store Bededag
        // being abolished from 2024, a working day.
        // extended: 16 July 2025; 1 July 2025 is a Tuesday (181 days after 1 Jan = 25 weeks + 6),
        // so 16 July is a Wednesday.
        assert_eq!(
            deadlines(&dk(), date(2025, 4, 16), 7),
            Deadlines {
                received: date(2025, 4, 16),
                promised: date(2025, 4, 30),
                legal: date(2025, 5, 16),
                legal_extended: date(2025, 7, 16),
            }
        );
    }

    #[test]
    fn received_on_christmas_eve_with_customary_days() {
        // Received Wednesday 24 Dec 2025, closing on 24 and 31 Dec (and 5 June).
        // promised: 25 Thu, 26 Fri public holidays; 27/28 weekend; 29 Mon (1), 30 Tue (2);
        // 31 Wed customary; 1 Jan Thu public holiday; 2 Fri (3); 5 Mon (4), 6 (5), 7 (6),
        // 8 Thu (7) -> 8 Jan 2026.
        // legal: 24 Jan 2026 is a Saturday (1 Jan 2026 is a Thursday, + 23 days) -> Monday 26.
        // extended: 24 March 2026; 1 Jan + 82 days = 11 weeks + 5 days -> Tuesday; Easter 2026
        // is 5 April, so no holiday intervenes.
        assert_eq!(
            deadlines(&dk_all(), date(2025, 12, 24), 7),
            Deadlines {
                received: date(2025, 12, 24),
                promised: date(2026, 1, 8),
                legal: date(2026, 1, 26),
                legal_extended: date(2026, 3, 24),
            }
        );
        // Without customary days only the promise moves: 31 Dec counts, so 29 (1), 30 (2),
        // 31 (3), 2 Jan (4), 5 (5), 6 (6), 7 (7).
        let plain = deadlines(&dk(), date(2025, 12, 24), 7);
        assert_eq!(plain.promised, date(2026, 1, 7));
        assert_eq!(plain.legal, date(2026, 1, 26));
        assert_eq!(plain.legal_extended, date(2026, 3, 24));
    }

    #[test]
    fn customary_day_never_moves_the_legal_date() {
        // Received Tuesday 5 May 2026 (1 May 2026 is a Friday). One month later is Friday
        // 5 June 2026, Grundlovsdag: the organisation may be closed, but it is not a public
        // holiday, so the legal period still ends that day.
        let received = date(2026, 5, 5);
        assert_eq!(legal_due(&dk_all(), received, 1), date(2026, 6, 5));
        assert!(!dk_all().is_working_day(date(2026, 6, 5)));
    }

    #[test]
    fn across_the_store_bededag_abolition() {
        // 2023: received Thursday 27 April 2023. Store Bededag is Easter (9 April) + 26 =
        // Friday 5 May 2023. promised: 28 Fri (1), 1 May Mon (2), 2 (3), 3 (4), 4 Thu (5),
        // 5 Fri holiday, 8 Mon (6), 9 Tue (7) -> 9 May.
        // legal: 27 May 2023 is a Saturday (1 May 2023 is a Monday, + 26 days); Sunday 28 May is
        // Whit Sunday (9 April + 49) and Monday 29 Whit Monday -> Tuesday 30 May.
        // extended: 27 July 2023; 1 July 2023 is a Saturday, + 26 days -> Thursday.
        assert_eq!(
            deadlines(&dk(), date(2023, 4, 27), 7),
            Deadlines {
                received: date(2023, 4, 27),
                promised: date(2023, 5, 9),
                legal: date(2023, 5, 30),
                legal_extended: date(2023, 7, 27),
            }
        );
        // 2024: received Thursday 18 April 2024. Easter 31 March + 26 = Friday 26 April, now an
        // ordinary working day. promised: 19 Fri (1), 22 (2), 23 (3), 24 (4), 25 (5),
        // 26 Fri (6), 29 Mon (7) -> 29 April.
        // legal: 18 May 2024 is a Saturday (1 May 2024 is a Wednesday, + 17 days); Sunday 19 May
        // is Whit Sunday (31 March + 49), Monday 20 Whit Monday -> Tuesday 21 May.
        // extended: 18 July 2024; 1 July 2024 is a Monday, + 17 days -> Thursday.
        assert_eq!(
            deadlines(&dk(), date(2024, 4, 18), 7),
            Deadlines {
                received: date(2024, 4, 18),
                promised: date(2024, 4, 29),
                legal: date(2024, 5, 21),
                legal_extended: date(2024, 7, 18),
            }
        );
    }

    #[test]
    fn saturates_at_the_end_of_the_range() {
        let cal = dk();
        assert_eq!(legal_due(&cal, date(9999, 12, 1), 1), Date::MAX);
        assert_eq!(legal_due(&cal, Date::MAX, u8::MAX), Date::MAX);
        // 9999-11-30 + 1 month = 9999-12-30, a Thursday.
        assert_eq!(legal_due(&cal, date(9999, 11, 30), 1), date(9999, 12, 30));
        let d = deadlines(&cal, Date::MAX, u32::MAX);
        assert_eq!(d.promised, Date::MAX);
        assert_eq!(d.legal_extended, Date::MAX);
        // From the very first date, with a huge promise.
        let d = deadlines(&cal, Date::MIN, u32::MAX);
        assert_eq!(d.promised, Date::MAX);
        assert_eq!(d.legal.year(), -9999);
    }

    #[test]
    fn extension_counts_from_the_end_of_the_first_month() {
        // Received Saturday 31 Jan 2026: one month ends on the clamped 28 Feb (a Saturday), so
        // the legal date moves to Monday 2 Mar. The extension adds two months to the unshifted
        // 28 Feb: Tuesday 28 Apr 2026, not 30 Apr (three months from receipt).
        let cal = Calendar::new("DK", &[]).unwrap();
        let d = deadlines(&cal, date(2026, 1, 31), 7);
        assert_eq!(d.legal, date(2026, 3, 2));
        assert_eq!(d.legal_extended, date(2026, 4, 28));
    }
}
