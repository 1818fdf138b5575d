//! Time partitions of object keys: strftime formats (`s3_partition_format`) and the
//! time zone they are written in (`s3_partition_timezone`).
//!
//! Upstream formats with `github.com/itchyny/timefmt-go`, which follows glibc's
//! `strftime`. [`PartitionFormat`] parses a format once, at config time, and supports
//! the conversions partition formats use:
//!
//! | conversion | meaning | example (2024-01-24 06:40:20 UTC, a Wednesday) |
//! | --- | --- | --- |
//! | `%Y` `%C` `%y` | year, century, 2-digit year | `2024` `20` `24` |
//! | `%G` `%g` `%V` | ISO 8601 week-based year, its 2 digits, ISO week | `2024` `24` `04` |
//! | `%m` `%B` `%b` `%h` | month, its name, abbreviated | `01` `January` `Jan` |
//! | `%d` `%e` `%j` | day of month, space-padded, day of year | `24` `24` `024` |
//! | `%H` `%k` `%I` `%l` `%p` `%P` | hour, space-padded, 12-hour, space-padded, AM/PM, am/pm | `06` ` 6` `06` ` 6` `AM` `am` |
//! | `%M` `%S` `%f` | minute, second, microseconds | `40` `20` `000000` |
//! | `%a` `%A` `%u` `%w` | weekday abbreviated, name, 1-7 from Monday, 0-6 from Sunday | `Wed` `Wednesday` `3` `3` |
//! | `%U` `%W` | week of the year from Sunday, from Monday | `03` `04` |
//! | `%s` | Unix seconds | `1706078420` |
//! | `%z` `%:z` `%Z` | UTC offset, with a colon, zone name | `+0000` `+00:00` `UTC` |
//! | `%F` `%T` `%D` `%R` `%c` `%x` `%X` `%r` | `%Y-%m-%d`, `%H:%M:%S`, `%m/%d/%y`, `%H:%M`, `%a %b %e %H:%M:%S %Y`, `%m/%d/%y`, `%H:%M:%S`, `%I:%M:%S %p` | |
//! | `%%` `%n` `%t` | `%`, newline, tab | |
//!
//! with glibc's flags `-` (no padding: `%-m` → `1`), `_` (pad with spaces), `0` (pad
//! with zeros) and `^` (upper case). Any other conversion, a field width, or a `%`
//! at the end is a config error, reported before anything runs (glibc would copy it
//! into the key as it is).
//!
//! Time zones: `UTC` (and its aliases: `Etc/UTC`, `GMT`, `Z`, ...), fixed offsets
//! written `+HH:MM`, `-HHMM` or `+HH`, and the fixed IANA zones `Etc/GMT+N` /
//! `Etc/GMT-N` (POSIX signs: `Etc/GMT-2` is two hours *ahead* of UTC). Zones with
//! daylight-saving rules (`Europe/London`) are refused with a message saying so: no
//! time zone database is built in. An empty value (upstream: the host's local zone)
//! and `Local` mean UTC, the zone of the containers stratus runs in.

use std::fmt::{self, Write as _};
use std::time::SystemTime;

/// Upstream's default `s3_partition_format`: one partition per minute.
pub const DEFAULT_PARTITION_FORMAT: &str = "year=%Y/month=%m/day=%d/hour=%H/minute=%M";

/// The format the legacy `s3_partition: hour` stands for.
pub const HOUR_PARTITION_FORMAT: &str = "year=%Y/month=%m/day=%d/hour=%H";

/// Why a partition format was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// A conversion stratus does not support.
    #[error(
        "`%{0}` (at byte {1}) is not a supported strftime conversion: use %Y %m %d %H %M %S \
         %j %y %C %G %g %V %U %W %u %w %a %A %b %B %e %k %I %l %p %f %s %z %Z %F %T %D %R, \
         or %% for a literal `%`"
    )]
    Unsupported(char, usize),
    /// A field width such as `%10Y`.
    #[error("field widths such as `%{0}` (at byte {1}) are not supported")]
    Width(String, usize),
    /// A `%` (possibly with flags) ends the format.
    #[error("the format ends with an unfinished `%` conversion: write %% for a literal `%`")]
    Unfinished,
}

/// Padding of a numeric field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pad {
    Zero,
    Space,
    None,
}

/// One numeric field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Num {
    Year,
    Century,
    Year2,
    IsoYear,
    IsoYear2,
    IsoWeek,
    Month,
    Day,
    DayOfYear,
    Hour,
    Hour12,
    Minute,
    Second,
    WeekdayMon1,
    WeekdaySun0,
    WeekSun,
    WeekMon,
}

impl Num {
    /// Width and default padding, as glibc pads the field.
    fn width(self) -> (usize, Pad) {
        match self {
            Num::Year | Num::IsoYear => (4, Pad::Zero),
            Num::DayOfYear => (3, Pad::Zero),
            Num::WeekdayMon1 | Num::WeekdaySun0 => (1, Pad::Zero),
            _ => (2, Pad::Zero),
        }
    }
}

/// One element of a parsed format.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Literal(String),
    Num(Num, Pad),
    MonthName { short: bool, upper: bool },
    WeekdayName { short: bool, upper: bool },
    AmPm { lower: bool },
    Micros,
    UnixSeconds,
    Offset { colon: bool },
    ZoneName,
}

/// A parsed strftime format (see the module docs for what it supports). The default
/// is the empty format.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PartitionFormat {
    source: String,
    items: Vec<Item>,
}

impl PartitionFormat {
    /// Parses `format`, refusing what it does not support.
    pub fn parse(format: &str) -> Result<Self, FormatError> {
        let mut items = Vec::new();
        let mut literal = String::new();
        let mut chars = format.char_indices().peekable();
        while let Some((pos, c)) = chars.next() {
            if c != '%' {
                literal.push(c);
                continue;
            }
            let mut pad: Option<Pad> = None;
            let mut upper = false;
            let mut colon = false;
            let conv = loop {
                let Some((at, f)) = chars.next() else {
                    return Err(FormatError::Unfinished);
                };
                match f {
                    '-' => pad = Some(Pad::None),
                    '_' => pad = Some(Pad::Space),
                    '0' => pad = Some(Pad::Zero),
                    '^' => upper = true,
                    ':' => colon = true,
                    d if d.is_ascii_digit() => {
                        return Err(FormatError::Width(format[pos..=at].to_string(), pos));
                    }
                    other => break other,
                }
            };
            let num = |n: Num, default: Pad| Item::Num(n, pad.unwrap_or(default));
            if colon && conv != 'z' {
                return Err(FormatError::Unsupported(':', pos));
            }
            let item = match conv {
                '%' => {
                    literal.push('%');
                    continue;
                }
                'n' => {
                    literal.push('\n');
                    continue;
                }
                't' => {
                    literal.push('\t');
                    continue;
                }
                'Y' => num(Num::Year, Pad::Zero),
                'C' => num(Num::Century, Pad::Zero),
                'y' => num(Num::Year2, Pad::Zero),
                'G' => num(Num::IsoYear, Pad::Zero),
                'g' => num(Num::IsoYear2, Pad::Zero),
                'V' => num(Num::IsoWeek, Pad::Zero),
                'm' => num(Num::Month, Pad::Zero),
                'd' => num(Num::Day, Pad::Zero),
                'e' => num(Num::Day, Pad::Space),
                'j' => num(Num::DayOfYear, Pad::Zero),
                'H' => num(Num::Hour, Pad::Zero),
                'k' => num(Num::Hour, Pad::Space),
                'I' => num(Num::Hour12, Pad::Zero),
                'l' => num(Num::Hour12, Pad::Space),
                'M' => num(Num::Minute, Pad::Zero),
                'S' => num(Num::Second, Pad::Zero),
                'u' => num(Num::WeekdayMon1, Pad::Zero),
                'w' => num(Num::WeekdaySun0, Pad::Zero),
                'U' => num(Num::WeekSun, Pad::Zero),
                'W' => num(Num::WeekMon, Pad::Zero),
                'B' => Item::MonthName {
                    short: false,
                    upper,
                },
                'b' | 'h' => Item::MonthName { short: true, upper },
                'A' => Item::WeekdayName {
                    short: false,
                    upper,
                },
                'a' => Item::WeekdayName { short: true, upper },
                'p' => Item::AmPm { lower: false },
                'P' => Item::AmPm { lower: true },
                'f' => Item::Micros,
                's' => Item::UnixSeconds,
                'z' => Item::Offset { colon },
                'Z' => Item::ZoneName,
                'F' => {
                    expand("%Y-%m-%d", &mut literal, &mut items);
                    continue;
                }
                'T' | 'X' => {
                    expand("%H:%M:%S", &mut literal, &mut items);
                    continue;
                }
                'D' | 'x' => {
                    expand("%m/%d/%y", &mut literal, &mut items);
                    continue;
                }
                'R' => {
                    expand("%H:%M", &mut literal, &mut items);
                    continue;
                }
                'r' => {
                    expand("%I:%M:%S %p", &mut literal, &mut items);
                    continue;
                }
                'c' => {
                    expand("%a %b %e %H:%M:%S %Y", &mut literal, &mut items);
                    continue;
                }
                other => return Err(FormatError::Unsupported(other, pos)),
            };
            flush(&mut literal, &mut items);
            items.push(item);
        }
        flush(&mut literal, &mut items);
        Ok(PartitionFormat {
            source: format.to_string(),
            items,
        })
    }

    /// The format as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// `time` in `zone`, formatted.
    pub fn format(&self, time: SystemTime, zone: &TimeZone) -> String {
        let t = CivilTime::new(time, zone);
        let mut out = String::with_capacity(self.source.len() + 16);
        for item in &self.items {
            match item {
                Item::Literal(s) => out.push_str(s),
                Item::Num(n, pad) => write_num(&mut out, &t, *n, *pad),
                Item::MonthName { short, upper } => {
                    let name = MONTHS[(t.month - 1) as usize];
                    push_name(&mut out, name, *short, *upper);
                }
                Item::WeekdayName { short, upper } => {
                    let name = WEEKDAYS[t.weekday as usize];
                    push_name(&mut out, name, *short, *upper);
                }
                Item::AmPm { lower } => {
                    let s = match (t.hour < 12, lower) {
                        (true, false) => "AM",
                        (false, false) => "PM",
                        (true, true) => "am",
                        (false, true) => "pm",
                    };
                    out.push_str(s);
                }
                Item::Micros => {
                    let _ = write!(out, "{:06}", t.nanos / 1_000);
                }
                Item::UnixSeconds => {
                    let _ = write!(out, "{}", t.unix_seconds);
                }
                Item::Offset { colon } => push_offset(&mut out, zone.offset_seconds, *colon),
                Item::ZoneName => out.push_str(&zone.name),
            }
        }
        out
    }
}

impl fmt::Display for PartitionFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

/// Appends the parts of a composite conversion (`%F` is `%Y-%m-%d`), with default
/// padding.
fn expand(spec: &str, literal: &mut String, items: &mut Vec<Item>) {
    flush(literal, items);
    if let Ok(inner) = PartitionFormat::parse(spec) {
        items.extend(inner.items);
    }
}

fn flush(literal: &mut String, items: &mut Vec<Item>) {
    if !literal.is_empty() {
        items.push(Item::Literal(std::mem::take(literal)));
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

fn push_name(out: &mut String, name: &str, short: bool, upper: bool) {
    let name = if short { &name[..3] } else { name };
    if upper {
        out.push_str(&name.to_ascii_uppercase());
    } else {
        out.push_str(name);
    }
}

fn push_offset(out: &mut String, offset_seconds: i32, colon: bool) {
    let sign = if offset_seconds < 0 { '-' } else { '+' };
    let abs = offset_seconds.unsigned_abs() / 60;
    let (h, m) = (abs / 60, abs % 60);
    if colon {
        let _ = write!(out, "{sign}{h:02}:{m:02}");
    } else {
        let _ = write!(out, "{sign}{h:02}{m:02}");
    }
}

fn write_num(out: &mut String, t: &CivilTime, n: Num, pad: Pad) {
    let value: i64 = match n {
        Num::Year => t.year,
        Num::Century => t.year.div_euclid(100),
        Num::Year2 => t.year.rem_euclid(100),
        Num::IsoYear => t.iso_year,
        Num::IsoYear2 => t.iso_year.rem_euclid(100),
        Num::IsoWeek => i64::from(t.iso_week),
        Num::Month => i64::from(t.month),
        Num::Day => i64::from(t.day),
        Num::DayOfYear => i64::from(t.yday),
        Num::Hour => i64::from(t.hour),
        Num::Hour12 => match t.hour % 12 {
            0 => 12,
            h => i64::from(h),
        },
        Num::Minute => i64::from(t.minute),
        Num::Second => i64::from(t.second),
        Num::WeekdayMon1 => match t.weekday {
            0 => 7,
            d => i64::from(d),
        },
        Num::WeekdaySun0 => i64::from(t.weekday),
        // glibc: (yday + 7 - wday) / 7, yday from 0.
        Num::WeekSun => (i64::from(t.yday) - 1 + 7 - i64::from(t.weekday)) / 7,
        Num::WeekMon => (i64::from(t.yday) - 1 + 7 - (i64::from(t.weekday) + 6) % 7) / 7,
    };
    let (width, _) = n.width();
    let _ = match pad {
        Pad::Zero => write!(out, "{value:0width$}"),
        Pad::Space => write!(out, "{value:width$}"),
        Pad::None => write!(out, "{value}"),
    };
}

/// A time zone partitions are written in: UTC or a fixed offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZone {
    /// Seconds east of UTC.
    pub offset_seconds: i32,
    /// What `%Z` writes (`UTC`, `+0530`).
    pub name: String,
}

/// Why a time zone was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeZoneError {
    /// A named zone with daylight-saving rules.
    #[error(
        "time zone `{0}` is not supported: stratus has no time zone database built in, so \
         zones with daylight-saving rules cannot be followed; use `UTC`, a fixed offset such \
         as `+01:00`, or `Etc/GMT-1`"
    )]
    Named(String),
    /// An offset outside -12:00..+14:00 or with bad minutes.
    #[error("`{0}` is not a valid UTC offset: write it `+HH:MM` between -12:00 and +14:00")]
    BadOffset(String),
}

impl Default for TimeZone {
    fn default() -> Self {
        TimeZone::utc()
    }
}

impl TimeZone {
    /// UTC.
    pub fn utc() -> Self {
        TimeZone {
            offset_seconds: 0,
            name: "UTC".to_string(),
        }
    }

    /// A fixed offset east of UTC, in seconds.
    pub fn fixed(offset_seconds: i32) -> Self {
        if offset_seconds == 0 {
            return TimeZone::utc();
        }
        let mut name = String::new();
        push_offset(&mut name, offset_seconds, false);
        // tzdata writes whole hours as `+05`.
        if name.ends_with("00") {
            name.truncate(3);
        }
        TimeZone {
            offset_seconds,
            name,
        }
    }

    /// Parses `s3_partition_timezone` (see the module docs).
    pub fn parse(name: &str) -> Result<Self, TimeZoneError> {
        let name = name.trim();
        const UTC_NAMES: &[&str] = &[
            "",
            "Local",
            "UTC",
            "Etc/UTC",
            "UCT",
            "Etc/UCT",
            "Universal",
            "Etc/Universal",
            "Zulu",
            "Etc/Zulu",
            "Z",
            "GMT",
            "Etc/GMT",
            "GMT0",
            "Etc/GMT0",
            "GMT+0",
            "Etc/GMT+0",
            "GMT-0",
            "Etc/GMT-0",
            "Greenwich",
            "Etc/Greenwich",
        ];
        if UTC_NAMES.contains(&name) {
            return Ok(TimeZone::utc());
        }
        if let Some(rest) = name.strip_prefix("Etc/GMT") {
            // POSIX sign: Etc/GMT+5 is UTC-5.
            let bad = || TimeZoneError::BadOffset(name.to_string());
            let (sign, digits) = match rest.as_bytes().first() {
                Some(b'+') => (-1, &rest[1..]),
                Some(b'-') => (1, &rest[1..]),
                _ => return Err(TimeZoneError::Named(name.to_string())),
            };
            let hours: i32 = digits.parse().map_err(|_| bad())?;
            let max = if sign < 0 { 12 } else { 14 };
            if digits.len() > 2 || hours > max {
                return Err(bad());
            }
            return Ok(TimeZone::fixed(sign * hours * 3600));
        }
        if name.starts_with(['+', '-']) {
            return parse_offset(name).map(TimeZone::fixed);
        }
        Err(TimeZoneError::Named(name.to_string()))
    }
}

/// `+HH:MM`, `+HHMM` or `+HH` (or `-`), within -12:00..+14:00.
fn parse_offset(text: &str) -> Result<i32, TimeZoneError> {
    let bad = || TimeZoneError::BadOffset(text.to_string());
    let sign = if text.starts_with('-') { -1 } else { 1 };
    let body = &text[1..];
    let (h, m) = match body.len() {
        2 => (body, "00"),
        4 if !body.contains(':') => body.split_at(2),
        5 if body.as_bytes()[2] == b':' => (&body[..2], &body[3..]),
        _ => return Err(bad()),
    };
    if !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let minutes = sign * (h * 60 + m);
    if m >= 60 || !(-12 * 60..=14 * 60).contains(&minutes) {
        return Err(bad());
    }
    Ok(minutes * 60)
}

/// A moment broken into calendar fields in a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CivilTime {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
    /// 0 = Sunday.
    weekday: u32,
    /// Day of the year, from 1.
    yday: u32,
    iso_year: i64,
    iso_week: u32,
    unix_seconds: i64,
}

impl CivilTime {
    fn new(time: SystemTime, zone: &TimeZone) -> Self {
        let (unix_seconds, nanos) = match time.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => (
                i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                d.subsec_nanos(),
            ),
            Err(e) => {
                let d = e.duration();
                let secs = -i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
                match d.subsec_nanos() {
                    0 => (secs, 0),
                    n => (secs - 1, 1_000_000_000 - n),
                }
            }
        };
        let local = unix_seconds.saturating_add(i64::from(zone.offset_seconds));
        let days = local.div_euclid(86_400);
        let secs_of_day = local.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        let weekday = (days + 4).rem_euclid(7) as u32;
        let yday = (days - days_from_civil(year, 1, 1)) as u32 + 1;
        let (iso_year, iso_week) = iso_week(year, yday, weekday);
        CivilTime {
            year,
            month,
            day,
            hour: secs_of_day / 3600,
            minute: secs_of_day / 60 % 60,
            second: secs_of_day % 60,
            nanos,
            weekday,
            yday,
            iso_year,
            iso_week,
            unix_seconds,
        }
    }
}

/// Year, month, day of a day count from 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days from 1970-01-01 to a date (the inverse of [`civil_from_days`]).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// ISO 8601 week-based year and week of a day (`yday` from 1, `weekday` 0 = Sunday).
fn iso_week(year: i64, yday: u32, weekday: u32) -> (i64, u32) {
    let wday = if weekday == 0 { 7 } else { weekday } as i64;
    let week = (i64::from(yday) - wday + 10) / 7;
    if week < 1 {
        (year - 1, weeks_in_iso_year(year - 1))
    } else if week > i64::from(weeks_in_iso_year(year)) {
        (year + 1, 1)
    } else {
        (year, week as u32)
    }
}

fn weeks_in_iso_year(year: i64) -> u32 {
    let p = |y: i64| (y + y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400)).rem_euclid(7);
    if p(year) == 4 || p(year - 1) == 3 {
        53
    } else {
        52
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// 2024-01-24T06:40:20Z, upstream's partition test time (a Wednesday).
    fn upstream_time() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_706_078_420)
    }

    fn at(secs: i64) -> SystemTime {
        if secs >= 0 {
            SystemTime::UNIX_EPOCH + Duration::from_secs(secs as u64)
        } else {
            SystemTime::UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs())
        }
    }

    fn fmt(format: &str, time: SystemTime) -> String {
        PartitionFormat::parse(format)
            .unwrap()
            .format(time, &TimeZone::utc())
    }

    // Upstream TestPartitionKeyInputsBucketPrefix's formats, and the conversions one by
    // one (expected values from glibc's strftime).
    #[test]
    fn conversions_table() {
        let t = upstream_time();
        let cases = [
            (
                DEFAULT_PARTITION_FORMAT,
                "year=2024/month=01/day=24/hour=06/minute=40",
            ),
            ("%Y/%m/%d/%H/%M", "2024/01/24/06/40"),
            (HOUR_PARTITION_FORMAT, "year=2024/month=01/day=24/hour=06"),
            ("", ""),
            ("no conversions", "no conversions"),
            ("%Y %C %y", "2024 20 24"),
            ("%G %g %V", "2024 24 04"),
            ("%m %B %b %h %^b %^B", "01 January Jan Jan JAN JANUARY"),
            ("%d %e %j", "24 24 024"),
            ("%H %k %I %l %p %P", "06  6 06  6 AM am"),
            ("%M %S %f", "40 20 000000"),
            ("%a %A %u %w %^a", "Wed Wednesday 3 3 WED"),
            ("%U %W", "03 04"),
            ("%s", "1706078420"),
            ("%z %:z %Z", "+0000 +00:00 UTC"),
            ("%F %T", "2024-01-24 06:40:20"),
            ("%D %R", "01/24/24 06:40"),
            ("%x %X %r", "01/24/24 06:40:20 06:40:20 AM"),
            ("%c", "Wed Jan 24 06:40:20 2024"),
            ("%-m/%-d/%-H %_m %_H %0e %-j", "1/24/6  1  6 24 24"),
            ("100%% %n%t", "100% \n\t"),
            ("é/%Y/ü", "é/2024/ü"),
        ];
        for (format, want) in cases {
            assert_eq!(fmt(format, t), want, "{format}");
        }
    }

    #[test]
    fn calendar_edges_table() {
        // (unix seconds, format, expected)
        let cases: &[(i64, &str, &str)] = &[
            (
                0,
                "%F %T %a %j %u %w %U %W %G-W%V",
                "1970-01-01 00:00:00 Thu 001 4 4 00 00 1970-W01",
            ),
            // 2000-02-29: leap day of a century leap year.
            (951_782_400, "%F %j", "2000-02-29 060"),
            // 2024-12-31 is day 366 of a leap year, in ISO week 1 of 2025.
            (
                1_735_603_200,
                "%F %j %G-W%V %U %W",
                "2024-12-31 366 2025-W01 52 53",
            ),
            // 2021-01-03 (a Sunday) belongs to ISO week 53 of 2020.
            (
                1_609_632_000,
                "%F %a %G-W%V %U %W",
                "2021-01-03 Sun 2020-W53 01 00",
            ),
            // 2026-12-31 23:59:59.
            (1_798_761_599, "%F %T %I %p", "2026-12-31 23:59:59 11 PM"),
            // Noon is 12 PM, midnight 12 AM.
            (43_200, "%I %p %l", "12 PM 12"),
            (0, "%I %p", "12 AM"),
            // Before 1970.
            (-1, "%F %T", "1969-12-31 23:59:59"),
            (-62_135_596_800, "%Y %C %y %F", "0001 00 01 0001-01-01"),
            (253_402_300_799, "%F %T", "9999-12-31 23:59:59"),
        ];
        for (secs, format, want) in cases {
            assert_eq!(fmt(format, at(*secs)), *want, "{secs} {format}");
        }
        let with_micros = upstream_time() + Duration::from_nanos(123_456_789);
        assert_eq!(fmt("%S.%f", with_micros), "20.123456");
        let before = at(-1) - Duration::from_millis(250);
        assert_eq!(fmt("%T.%f %s", before), "23:59:58.750000 -2");
    }

    #[test]
    fn days_round_trip() {
        for days in (-800_000i64..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn refused_formats_table() {
        let cases = [
            ("%Q", FormatError::Unsupported('Q', 0)),
            ("year=%Y/%E", FormatError::Unsupported('E', 8)),
            ("%10Y", FormatError::Width("%1".to_string(), 0)),
            ("%Y%", FormatError::Unfinished),
            ("%-", FormatError::Unfinished),
            ("%:H", FormatError::Unsupported(':', 0)),
        ];
        for (format, want) in cases {
            assert_eq!(
                PartitionFormat::parse(format).unwrap_err(),
                want,
                "{format}"
            );
        }
        let msg = PartitionFormat::parse("%Q").unwrap_err().to_string();
        assert!(msg.contains("`%Q`") && msg.contains("%%"), "{msg}");
    }

    #[test]
    fn time_zones_table() {
        let t = upstream_time();
        // (zone, expected "%F %H:%M %z %Z")
        let cases = [
            ("", "2024-01-24 06:40 +0000 UTC"),
            ("UTC", "2024-01-24 06:40 +0000 UTC"),
            ("Etc/UTC", "2024-01-24 06:40 +0000 UTC"),
            ("Local", "2024-01-24 06:40 +0000 UTC"),
            ("GMT", "2024-01-24 06:40 +0000 UTC"),
            ("+02:00", "2024-01-24 08:40 +0200 +02"),
            ("-0800", "2024-01-23 22:40 -0800 -08"),
            ("+05:30", "2024-01-24 12:10 +0530 +0530"),
            ("+14", "2024-01-24 20:40 +1400 +14"),
            ("-12:00", "2024-01-23 18:40 -1200 -12"),
            ("Etc/GMT-2", "2024-01-24 08:40 +0200 +02"),
            ("Etc/GMT+5", "2024-01-24 01:40 -0500 -05"),
            ("Etc/GMT-14", "2024-01-24 20:40 +1400 +14"),
        ];
        let f = PartitionFormat::parse("%F %H:%M %z %Z").unwrap();
        for (zone, want) in cases {
            let tz = TimeZone::parse(zone).unwrap();
            assert_eq!(f.format(t, &tz), want, "{zone}");
        }
        for named in [
            "Europe/London",
            "America/New_York",
            "Asia/Kolkata",
            "EST5EDT",
            "Etc/GMTx",
        ] {
            let e = TimeZone::parse(named).unwrap_err();
            assert_eq!(e, TimeZoneError::Named(named.to_string()));
            assert!(e.to_string().contains("`+01:00`"), "{e}");
        }
        for bad in [
            "+15:00",
            "-13",
            "+02:60",
            "+2",
            "+02:0",
            "Etc/GMT+13",
            "Etc/GMT-15",
            "+ab:cd",
        ] {
            assert!(
                matches!(TimeZone::parse(bad), Err(TimeZoneError::BadOffset(_))),
                "{bad}"
            );
        }
    }
}
