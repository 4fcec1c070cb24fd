//! Lengths of time as a policy writes them: "30 days", "6 months", "5 years".

use std::fmt;

/// The unit of a [`Period`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeriodUnit {
    Minutes,
    Hours,
    Days,
    Weeks,
    Months,
    Years,
}

impl PeriodUnit {
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::Minutes => ("minute", "minutes"),
            Self::Hours => ("hour", "hours"),
            Self::Days => ("day", "days"),
            Self::Weeks => ("week", "weeks"),
            Self::Months => ("month", "months"),
            Self::Years => ("year", "years"),
        }
    }

    const ALL: [PeriodUnit; 6] = [
        Self::Minutes,
        Self::Hours,
        Self::Days,
        Self::Weeks,
        Self::Months,
        Self::Years,
    ];
}

/// A whole number of calendar units (zero means "at the anchor event itself"). Months and years stay calendar units (not a count of
/// days) so "6 months" from 31 August ends on the last day of February, as people expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    pub amount: u32,
    pub unit: PeriodUnit,
}

/// The text is not "<number> <unit>".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a period: write a whole number and a unit, e.g. `30 days`, `6 months` or `5 years` (units: minutes, hours, days, weeks, months, years)"
)]
pub struct InvalidPeriod(pub String);

impl Period {
    pub fn parse(s: &str) -> Result<Self, InvalidPeriod> {
        let err = || InvalidPeriod(s.to_owned());
        let mut parts = s.split_whitespace();
        let (Some(n), Some(u), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(err());
        };
        let amount: u32 = n.parse().map_err(|_| err())?;
        if amount > 10_000 {
            return Err(err());
        }
        let unit = PeriodUnit::ALL
            .into_iter()
            .find(|unit| {
                let (one, many) = unit.names();
                u == many || (amount == 1 && u == one)
            })
            .ok_or_else(err)?;
        Ok(Self { amount, unit })
    }

    /// Approximate length in seconds, for ordering and display (months = 30.44 days, years =
    /// 365.25 days). Never use it for deadline arithmetic.
    pub fn approx_seconds(self) -> u64 {
        let unit: f64 = match self.unit {
            PeriodUnit::Minutes => 60.0,
            PeriodUnit::Hours => 3_600.0,
            PeriodUnit::Days => 86_400.0,
            PeriodUnit::Weeks => 604_800.0,
            PeriodUnit::Months => 2_629_800.0,
            PeriodUnit::Years => 31_557_600.0,
        };
        (f64::from(self.amount) * unit) as u64
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (one, many) = self.unit.names();
        write!(
            f,
            "{} {}",
            self.amount,
            if self.amount == 1 { one } else { many }
        )
    }
}

/// How long a cookie lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CookieLifetime {
    /// Deleted when the browser closes.
    Session,
    For(Period),
}

impl CookieLifetime {
    pub fn parse(s: &str) -> Result<Self, InvalidPeriod> {
        if s == "session" {
            Ok(Self::Session)
        } else {
            Period::parse(s).map(Self::For)
        }
    }
}

impl fmt::Display for CookieLifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Session => f.write_str("session"),
            Self::For(p) => p.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for s in [
            "30 days", "1 year", "6 months", "24 hours", "1 minute", "2 weeks",
        ] {
            assert_eq!(Period::parse(s).unwrap().to_string(), s);
        }
        assert_eq!(
            CookieLifetime::parse("session"),
            Ok(CookieLifetime::Session)
        );
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "30",
            "days",
            "1 years extra",
            "-1 days",
            "2 day",
            "3 fortnights",
            "1.5 years",
        ] {
            assert!(Period::parse(s).is_err(), "{s:?}");
        }
    }
}
