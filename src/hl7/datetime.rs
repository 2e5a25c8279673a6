//! HL7 TS / DTM / DT / TM values: `YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]`,
//! checked for real calendar dates and converted between UTC offsets.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timestamp {
    pub year: i32,
    pub month: Option<u32>,
    pub day: Option<u32>,
    pub hour: Option<u32>,
    pub minute: Option<u32>,
    pub second: Option<u32>,
    /// Fraction of a second as written after the point (1–4 digits).
    pub fraction: Option<String>,
    /// UTC offset in minutes, when written.
    pub offset_minutes: Option<i32>,
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

/// Parses a UTC offset written as `+HHMM` / `-HHMM`.
pub fn parse_offset(text: &str) -> Result<i32, String> {
    let (sign, digits) = match text.as_bytes().first() {
        Some(b'+') => (1, &text[1..]),
        Some(b'-') => (-1, &text[1..]),
        _ => return Err(format!("UTC offset `{text}` must start with + or -")),
    };
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("UTC offset `{text}` must be +HHMM or -HHMM"));
    }
    let h = digits_value(&digits.as_bytes()[..2]) as i32;
    let m = digits_value(&digits.as_bytes()[2..]) as i32;
    if h > 14 || m > 59 {
        return Err(format!("UTC offset `{text}` is out of range"));
    }
    Ok(sign * (h * 60 + m))
}

/// The value of ASCII digits (checked by the caller), no allocation, no overflow check needed for up to 9.
fn digits_value(digits: &[u8]) -> u32 {
    digits
        .iter()
        .fold(0, |n, &b| n * 10 + u32::from(b.wrapping_sub(b'0')))
}

pub fn format_offset(minutes: i32) -> String {
    offset_text(minutes, &mut [0; 5]).to_string()
}

/// `+HHMM` / `-HHMM` written into `buf` (hours past 99 keep their last two digits).
fn offset_text(minutes: i32, buf: &mut [u8; 5]) -> &str {
    buf[0] = if minutes < 0 { b'-' } else { b'+' };
    let m = minutes.unsigned_abs();
    let (h, m) = ((m / 60) % 100, m % 60);
    for (i, d) in [h / 10, h % 10, m / 10, m % 10].into_iter().enumerate() {
        buf[i + 1] = b'0' + d as u8;
    }
    std::str::from_utf8(buf).unwrap_or("+0000")
}

impl Timestamp {
    /// Parses a TS/DTM value. The error says what is wrong, in words.
    pub fn parse(text: &str) -> Result<Timestamp, String> {
        // Every timestamp of every message is read: a well-formed one in
        // one pass over its bytes; anything else (and every error) by the
        // full reading below, which words the problem.
        match Timestamp::read_well_formed(text) {
            Some(ts) => Ok(ts),
            None => Timestamp::parse_worded(text),
        }
    }

    /// `YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-HHMM]` with a real date,
    /// time and offset; `None` for anything else. Whatever it reads,
    /// [`Timestamp::parse_worded`] reads the same.
    fn read_well_formed(text: &str) -> Option<Timestamp> {
        let b = text.as_bytes();
        let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
        if !matches!(n, 4 | 6 | 8 | 10 | 12 | 14) {
            return None;
        }
        let mut at = n;
        let mut fraction = None;
        if b.get(at) == Some(&b'.') {
            let f = b[at + 1..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            if n != 14 || !(1..=4).contains(&f) {
                return None;
            }
            fraction = Some(text[at + 1..at + 1 + f].to_string());
            at += 1 + f;
        }
        let offset = match b.get(at) {
            None => None,
            Some(&sign @ (b'+' | b'-')) => {
                let o = b.get(at + 1..)?;
                if o.len() != 4 || !o.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                let (h, m) = (digits_value(&o[..2]) as i32, digits_value(&o[2..]) as i32);
                if h > 14 || m > 59 {
                    return None;
                }
                Some(if sign == b'-' { -1 } else { 1 } * (h * 60 + m))
            }
            Some(_) => return None,
        };
        let num = |from: usize| (from + 2 <= n).then(|| digits_value(&b[from..from + 2]));
        let year = digits_value(&b[..4]) as i32;
        let (month, day, hour) = (num(4), num(6), num(8));
        let (minute, second) = (num(10), num(12));
        if month.is_some_and(|m| !(1..=12).contains(&m))
            || day.is_some_and(|d| d == 0 || d > days_in_month(year, month.unwrap_or(1)))
            || hour.is_some_and(|h| h > 23)
            || minute.is_some_and(|m| m > 59)
            || second.is_some_and(|s| s > 59)
        {
            return None;
        }
        Some(Timestamp {
            year,
            month,
            day,
            hour,
            minute,
            second,
            fraction,
            offset_minutes: offset,
        })
    }

    /// [`Timestamp::parse`] step by step, each problem in words.
    fn parse_worded(text: &str) -> Result<Timestamp, String> {
        let (body, offset) = match text.bytes().position(|b| b == b'+' || b == b'-') {
            Some(i) => (&text[..i], Some(parse_offset(&text[i..])?)),
            None => (text, None),
        };
        let dot = body.bytes().position(|b| b == b'.');
        let (digits, fraction) = match dot.map(|i| (&body[..i], &body[i + 1..])) {
            Some((d, f)) => {
                if f.is_empty() || f.len() > 4 || !f.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("fraction of a second `.{f}` must be 1 to 4 digits"));
                }
                (d, Some(f.to_string()))
            }
            None => (body, None),
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{text}` is not a date/time (YYYYMMDDHHMMSS)"));
        }
        if ![4, 6, 8, 10, 12, 14].contains(&digits.len()) {
            return Err(format!(
                "`{text}` has {} digits; expected YYYY, YYYYMM, YYYYMMDD, …, YYYYMMDDHHMMSS",
                digits.len()
            ));
        }
        if fraction.is_some() && digits.len() != 14 {
            return Err(format!("`{text}`: a fraction needs seconds before it"));
        }
        // All ASCII digits (checked above), 4 to 14 of them.
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            digits.as_bytes().get(r).map(digits_value)
        };
        let year = num(0..4).unwrap_or(0) as i32;
        let ts = Timestamp {
            year,
            month: num(4..6),
            day: num(6..8),
            hour: num(8..10),
            minute: num(10..12),
            second: num(12..14),
            fraction,
            offset_minutes: offset,
        };
        if let Some(m) = ts.month
            && !(1..=12).contains(&m)
        {
            return Err(format!("`{text}`: month {m:02} does not exist"));
        }
        if let (Some(m), Some(d)) = (ts.month, ts.day)
            && (d == 0 || d > days_in_month(year, m))
        {
            return Err(format!(
                "`{text}`: day {d:02} does not exist in {year}-{m:02}"
            ));
        }
        if ts.hour.is_some_and(|h| h > 23) {
            return Err(format!("`{text}`: hour out of range"));
        }
        if ts.minute.is_some_and(|m| m > 59) || ts.second.is_some_and(|s| s > 59) {
            return Err(format!("`{text}`: minute or second out of range"));
        }
        Ok(ts)
    }

    /// Has a time part (hours at least).
    pub fn has_time(&self) -> bool {
        self.hour.is_some()
    }

    /// The same instant at another UTC offset. A value with no offset is
    /// read as being at `assume` (minutes); a date-only value is left as is.
    pub fn to_offset(&self, target: i32, assume: Option<i32>) -> Timestamp {
        let Some(from) = self.offset_minutes.or(assume) else {
            return self.clone();
        };
        if !self.has_time() {
            return self.clone();
        }
        let (Some(mo), Some(d), Some(h)) = (self.month, self.day, self.hour) else {
            return self.clone();
        };
        let days = days_from_civil(self.year, mo, d);
        let total = days * 1440 + i64::from(h) * 60 + i64::from(self.minute.unwrap_or(0))
            - i64::from(from)
            + i64::from(target);
        let day = total.div_euclid(1440);
        let mins = total.rem_euclid(1440);
        let (y, m, dd) = civil_from_days(day);
        Timestamp {
            year: y,
            month: Some(m),
            day: Some(dd),
            hour: Some((mins / 60) as u32),
            minute: self.minute.map(|_| (mins % 60) as u32),
            second: self.second,
            fraction: self.fraction.clone(),
            offset_minutes: Some(target),
        }
    }
}

impl Timestamp {
    /// The value as HL7 writes it (what `Display` shows), built directly:
    /// this runs for every normalised timestamp.
    pub fn to_hl7(&self) -> String {
        let mut out = String::with_capacity(24);
        let y = self.year.clamp(0, 9999) as u32;
        push_two(&mut out, y / 100);
        push_two(&mut out, y % 100);
        for part in [self.month, self.day, self.hour, self.minute, self.second]
            .into_iter()
            .map_while(|p| p)
        {
            push_two(&mut out, part);
        }
        if let Some(fr) = &self.fraction {
            out.push('.');
            out.push_str(fr);
        }
        if let Some(o) = self.offset_minutes {
            out.push(if o < 0 { '-' } else { '+' });
            let m = o.unsigned_abs();
            push_two(&mut out, (m / 60) % 100);
            push_two(&mut out, m % 60);
        }
        out
    }
}

/// Two digits of `v` (its last two).
fn push_two(out: &mut String, v: u32) {
    out.push(char::from(b'0' + (v / 10 % 10) as u8));
    out.push(char::from(b'0' + (v % 10) as u8));
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hl7())
    }
}

// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

pub(crate) fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((y + i64::from(m <= 2)) as i32, m, d)
}

#[cfg(test)]
mod tests {

    #[test]
    fn offsets_are_written_as_sign_and_four_digits() {
        for (m, text) in [
            (-480, "-0800"),
            (330, "+0530"),
            (0, "+0000"),
            (-840, "-1400"),
        ] {
            assert_eq!(format_offset(m), text);
            assert_eq!(parse_offset(text), Ok(m));
        }
    }

    use super::*;

    #[test]
    fn parses_and_prints() {
        for s in [
            "2024",
            "202401",
            "20240131",
            "202401311230",
            "20240131123045-0500",
            "20140630120030.1234-0500",
            "20240229",
        ] {
            assert_eq!(Timestamp::parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn rejects_impossible_values() {
        for s in [
            "20230229",
            "99999999",
            "2024013",
            "20241301",
            "20240101256000",
            "2024-01-01",
            "20240101120000+25",
            "abc",
        ] {
            assert!(Timestamp::parse(s).is_err(), "{s}");
        }
    }

    /// The one-pass reading and the worded one agree on every value: the
    /// well-formed ones and thousands of near misses (digits dropped,
    /// doubled or replaced, signs, points and letters put anywhere).
    #[test]
    fn the_quick_reading_agrees_with_the_worded_one() {
        let seeds = [
            "20240229",
            "20230229",
            "20241231235959.1234-1400",
            "20240131123045+0530",
            "2024013112",
            "202401311230",
            "1999",
            "199912",
            "20240101000000.5",
            "20241301",
            "20240132",
            "20240101246000",
            "20240101120000+1500",
            "20240101120000-0060",
        ];
        let alphabet = b"0123456789+-.a ";
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut checked = 0;
        for seed in seeds {
            for _ in 0..2000 {
                let mut b = seed.as_bytes().to_vec();
                for _ in 0..=next(3) {
                    let at = next(b.len() + 1);
                    match next(3) {
                        0 if at < b.len() => {
                            b.remove(at);
                        }
                        1 => b.insert(at, alphabet[next(alphabet.len())]),
                        _ if at < b.len() => b[at] = alphabet[next(alphabet.len())],
                        _ => {}
                    }
                }
                let text = String::from_utf8(b).unwrap();
                let worded = Timestamp::parse_worded(&text);
                if let Some(quick) = Timestamp::read_well_formed(&text) {
                    assert_eq!(Ok(quick), worded.clone(), "{text}");
                    checked += 1;
                }
                assert_eq!(Timestamp::parse(&text), worded, "{text}");
            }
        }
        assert!(checked > 1000, "only {checked} read the quick way");
    }

    #[test]
    fn converts_offsets_across_midnight() {
        let t = Timestamp::parse("20241231203000-0500").unwrap();
        assert_eq!(t.to_offset(0, None).to_string(), "20250101013000+0000");
        let t = Timestamp::parse("202403010030").unwrap();
        assert_eq!(t.to_offset(0, Some(60)).to_string(), "202402292330+0000");
    }
}
