//! Money as the platform stores it (integer minor units, cents) and the one currency a
//! console shows it in: the config's `currency` (ISO 4217, default EUR). Seed 000 pays out in
//! USD through Stripe; the demo's engine works in EUR.

use std::fmt;

/// A three-letter ISO 4217 code, upper case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Currency(String);

impl Default for Currency {
    fn default() -> Self {
        Currency("EUR".into())
    }
}

impl Currency {
    /// `eur`, `USD`… → the code in upper case; anything but three ASCII letters is refused.
    pub fn parse(s: &str) -> Result<Currency, String> {
        let t = s.trim();
        if t.len() == 3 && t.chars().all(|c| c.is_ascii_alphabetic()) {
            Ok(Currency(t.to_ascii_uppercase()))
        } else {
            Err(format!(
                "currency {s:?}: expected a three-letter ISO 4217 code such as EUR, USD or GBP"
            ))
        }
    }

    pub fn code(&self) -> &str {
        &self.0
    }

    /// The sign written before the amount: `€`, `$`, `£` for the currencies whose sign nobody
    /// misreads in an operations room, else the code and a space (`CHF 1,234.50`).
    fn prefix(&self) -> String {
        match self.0.as_str() {
            "EUR" => "€".into(),
            "USD" => "$".into(),
            "GBP" => "£".into(),
            c => format!("{c} "),
        }
    }

    /// Cents in this currency: `€1,234.50`, `-$12.00`, `CHF 1,234.50`.
    pub fn cents(&self, cents: i64) -> String {
        let sign = if cents < 0 { "-" } else { "" };
        let c = cents.unsigned_abs();
        format!(
            "{sign}{}{}.{:02}",
            self.prefix(),
            super::model::thousands((c / 100) as i64),
            c % 100
        )
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_codes_and_refuses_the_rest() {
        assert_eq!(Currency::parse("usd").unwrap().code(), "USD");
        assert_eq!(Currency::parse(" Eur ").unwrap().code(), "EUR");
        for bad in ["", "$", "US", "EURO", "U5D", "€€€"] {
            assert!(Currency::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn formats_cents_with_the_sign_or_the_code() {
        let c = |s: &str| Currency::parse(s).unwrap();
        assert_eq!(Currency::default().cents(123_450), "€1,234.50");
        assert_eq!(c("USD").cents(-1_200), "-$12.00");
        assert_eq!(c("GBP").cents(5), "£0.05");
        assert_eq!(c("CHF").cents(123_456_789), "CHF 1,234,567.89");
        assert_eq!(c("usd").cents(0), "$0.00");
    }
}
