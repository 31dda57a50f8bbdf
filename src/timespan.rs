//! The `ms` npm package's grammar (v2.1), which jsonwebtoken uses for string `expiresIn` and
//! `notBefore` (docs/behaviour.md): `"2h"`, `"1.5h"`, `"1 day"`, and a bare `"3600"` = 3600 ms.

/// Parses a timespan string into milliseconds, or `None` where `ms()` returns `undefined`.
pub fn parse_ms(text: &str) -> Option<f64> {
  // ms rejects strings longer than 100 characters (UTF-16 units; ASCII is all it accepts).
  if text.is_empty() || text.encode_utf16().count() > 100 {
    return None;
  }
  let (number, unit) = split_number(text)?;
  let value: f64 = number.parse().ok()?;
  let unit = unit.trim_start_matches(' ').to_ascii_lowercase();
  const SECOND: f64 = 1000.0;
  const MINUTE: f64 = 60.0 * SECOND;
  const HOUR: f64 = 60.0 * MINUTE;
  const DAY: f64 = 24.0 * HOUR;
  let factor = match unit.as_str() {
    "years" | "year" | "yrs" | "yr" | "y" => DAY * 365.25,
    "weeks" | "week" | "w" => DAY * 7.0,
    "days" | "day" | "d" => DAY,
    "hours" | "hour" | "hrs" | "hr" | "h" => HOUR,
    "minutes" | "minute" | "mins" | "min" | "m" => MINUTE,
    "seconds" | "second" | "secs" | "sec" | "s" => SECOND,
    "milliseconds" | "millisecond" | "msecs" | "msec" | "ms" | "" => 1.0,
    _ => return None,
  };
  Some(value * factor)
}

/// Splits `-?(\d+)?\.?\d+` from the rest, as ms's regular expression does.
fn split_number(text: &str) -> Option<(&str, &str)> {
  let bytes = text.as_bytes();
  let mut end = usize::from(bytes.first() == Some(&b'-'));
  let start_digits = end;
  while end < bytes.len() && bytes[end].is_ascii_digit() {
    end += 1;
  }
  if end < bytes.len() && bytes[end] == b'.' {
    let after_dot = end + 1;
    let mut fraction_end = after_dot;
    while fraction_end < bytes.len() && bytes[fraction_end].is_ascii_digit() {
      fraction_end += 1;
    }
    if fraction_end == after_dot {
      return None; // "1." does not match `\.?\d+`
    }
    end = fraction_end;
  } else if end == start_digits {
    return None;
  }
  Some((&text[..end], &text[end..]))
}

#[cfg(test)]
mod tests {
  use super::parse_ms;

  #[test]
  fn follows_the_ms_package() {
    assert_eq!(parse_ms("2h"), Some(7_200_000.0));
    assert_eq!(parse_ms("1.5h"), Some(5_400_000.0));
    assert_eq!(parse_ms("3600"), Some(3600.0));
    assert_eq!(parse_ms("1 day"), Some(86_400_000.0));
    assert_eq!(parse_ms("7D"), Some(604_800_000.0));
    assert_eq!(parse_ms("-10s"), Some(-10_000.0));
    assert_eq!(parse_ms(".5m"), Some(30_000.0));
    assert_eq!(parse_ms("1y"), Some(31_557_600_000.0));
    assert_eq!(parse_ms("abc"), None);
    assert_eq!(parse_ms(""), None);
    assert_eq!(parse_ms("1."), None);
    assert_eq!(parse_ms("2 hours ago"), None);
    assert_eq!(parse_ms(&"1".repeat(101)), None);
  }
}
