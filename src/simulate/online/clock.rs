//! Time as QuickBooks Online writes it: ISO 8601 in the company's own offset. The fake company
//! sits in US Pacific time, so its offset is -08:00 in winter and -07:00 in summer (US rules
//! since 2007: from 02:00 on the second Sunday of March to 02:00 on the first Sunday of
//! November), as in Intuit's samples (`2026-03-31T16:49:28-07:00`, `2019-02-22T20:12:53-08:00`).
//!
//! Instants are epoch milliseconds throughout the fake.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Weekday};

const HOUR: i64 = 3600;

/// The company's UTC offset in seconds at an instant (epoch seconds).
pub(crate) fn pacific_offset_secs(epoch_secs: i64) -> i64 {
    let Some(utc) = DateTime::from_timestamp(epoch_secs, 0) else {
        return -8 * HOUR;
    };
    let year = chrono::Datelike::year(&utc);
    let sunday = |month, n| NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Sun, n);
    let (Some(start), Some(end)) = (sunday(3, 2), sunday(11, 1)) else {
        return -8 * HOUR;
    };
    // 02:00 PST is 10:00 UTC; 02:00 PDT is 09:00 UTC.
    let starts = start.and_hms_opt(10, 0, 0).map(|t| t.and_utc().timestamp());
    let ends = end.and_hms_opt(9, 0, 0).map(|t| t.and_utc().timestamp());
    match (starts, ends) {
        (Some(s), Some(e)) if (s..e).contains(&epoch_secs) => -7 * HOUR,
        _ => -8 * HOUR,
    }
}

fn in_company_zone(epoch_ms: i64) -> DateTime<FixedOffset> {
    let utc = DateTime::from_timestamp_millis(epoch_ms).unwrap_or_default();
    let offset = FixedOffset::east_opt(pacific_offset_secs(epoch_ms.div_euclid(1000)) as i32)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"));
    utc.with_timezone(&offset)
}

/// `2026-03-31T16:49:28-07:00`: how `MetaData` times are written (whole seconds).
pub(crate) fn format_time(epoch_ms: i64) -> String {
    in_company_zone(epoch_ms).format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// `2026-05-05T05:15:24.356-07:00`: how a response's `time` is written (milliseconds).
pub(crate) fn format_time_ms(epoch_ms: i64) -> String {
    in_company_zone(epoch_ms).format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}

/// `2026-05-05T12:15:24.356Z`: how webhooks write times.
pub(crate) fn format_utc_ms(epoch_ms: i64) -> String {
    DateTime::from_timestamp_millis(epoch_ms).unwrap_or_default().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Parses what a client may send in a query or as `changedSince`: a date-time with an offset
/// (`Z`, `-07:00` or `-0700`; fractional seconds allowed), a date-time without one, or a bare
/// date. Without an offset the value is the company's local time, as on Intuit's servers.
pub(crate) fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t.timestamp_millis());
        }
    }
    let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
        .ok()
        .or_else(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))?;
    let local_ms = local.and_utc().timestamp_millis();
    // The offset in force at that local time: guess with standard time, then correct.
    let offset = pacific_offset_secs((local_ms / 1000) + 8 * HOUR);
    Some(local_ms - offset * 1000)
}

/// Milliseconds since the epoch, from the system clock.
pub(crate) fn system_now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_carry_the_pacific_offset_with_daylight_saving() {
        // 2026-01-15T12:00:00Z is winter, 2026-07-15T12:00:00Z summer.
        assert_eq!(format_time(1_768_478_400_000), "2026-01-15T04:00:00-08:00");
        assert_eq!(format_time(1_784_116_800_000), "2026-07-15T05:00:00-07:00");
        assert_eq!(format_time_ms(1_784_116_800_356), "2026-07-15T05:00:00.356-07:00");
        assert_eq!(format_utc_ms(1_784_116_800_356), "2026-07-15T12:00:00.356Z");
        // 2026-03-08 is the second Sunday of March: 09:59:59Z is still standard time.
        assert_eq!(format_time(1_772_963_999_000), "2026-03-08T01:59:59-08:00");
        assert_eq!(format_time(1_772_964_000_000), "2026-03-08T03:00:00-07:00");
        // 2026-11-01 is the first Sunday of November: at 09:00Z clocks go back to 01:00.
        assert_eq!(format_time(1_793_523_599_000), "2026-11-01T01:59:59-07:00");
        assert_eq!(format_time(1_793_523_600_000), "2026-11-01T01:00:00-08:00");
    }

    #[test]
    fn client_times_parse_in_every_form_seen() {
        let at = 1_784_116_800_000;
        for text in [
            "2026-07-15T05:00:00-07:00",
            "2026-07-15T12:00:00Z",
            "2026-07-15T12:00:00.000Z",
            "2026-07-15T05:00:00-0700",
            "2026-07-15T05:00:00",
        ] {
            assert_eq!(parse_time(text), Some(at), "{text}");
        }
        assert_eq!(parse_time("2026-01-15"), Some(1_768_464_000_000));
        assert_eq!(parse_time(&format_time_ms(at + 356)), Some(at + 356));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(parse_time("2026-13-01"), None);
    }
}
