//! Validators: the checks a pattern cannot express. Each takes the matched bytes (which may
//! include one boundary byte on either side and the keyword) and returns the span of the value,
//! or `None` to drop the candidate. Pure functions over bytes; they never log or keep input.

/// Position of the first and one-past-last ASCII digit run that makes up the value: the last
/// `n` digits of the match, possibly with separators.
fn trailing_value(b: &[u8], is_value: impl Fn(u8) -> bool) -> (usize, usize) {
    let mut end = b.len();
    while end > 0 && !is_value(b[end - 1]) {
        end -= 1;
    }
    let mut start = end;
    while start > 0
        && (is_value(b[start - 1])
            || (matches!(b[start - 1], b'-' | b' ' | b'.') && start >= 2 && is_value(b[start - 2])))
    {
        start -= 1;
    }
    (start, end)
}

fn digits(b: &[u8]) -> Vec<u8> {
    b.iter()
        .filter(|c| c.is_ascii_digit())
        .map(|c| c - b'0')
        .collect()
}

/// Left-boundary predicates for [`crate::rules::Rule::not_after`].
pub fn alnum_or_dash(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// A list item, not a column label: the label follows a space or an opening bracket.
pub fn space_or_bracket(b: u8) -> bool {
    b == b' ' || b == b'['
}

/// A list item or a path (`Patient.birthDate`), not a column label that ends a header line.
pub fn space_bracket_or_dot(b: u8) -> bool {
    space_or_bracket(b) || b == b'.'
}

/// A path segment (`/SearchParameter/pat-birthdate`), not a column label.
pub fn slash(b: u8) -> bool {
    b == b'/'
}

/// A letter: the value is glued to a word.
pub fn is_alpha(b: u8) -> bool {
    b.is_ascii_alphabetic()
}

/// A letter, digit, dash or dot: the value continues a longer token.
pub fn alnum_dash_dot(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'.'
}

/// SSN rules: area not 000, 666 or 900-999; group not 00; serial not 0000. Also rejects the
/// well-known advertising numbers and all-same-digit runs that appear as placeholders.
pub fn ssn(b: &[u8]) -> Option<(usize, usize)> {
    let (s, e) = trailing_value(b, |c| c.is_ascii_digit());
    let d = digits(&b[s..e]);
    if d.len() != 9 {
        return None;
    }
    let area = d[0] as u32 * 100 + d[1] as u32 * 10 + d[2] as u32;
    let group = d[3] * 10 + d[4];
    let serial = d[5] as u32 * 1000 + d[6] as u32 * 100 + d[7] as u32 * 10 + d[8] as u32;
    if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
        return None;
    }
    if d.iter().all(|&x| x == d[0]) {
        return None;
    }
    // 078-05-1120 (the Woolworth wallet card) and 123-45-6789 are documented as never issued.
    if d == [0, 7, 8, 0, 5, 1, 1, 2, 0] {
        return None;
    }
    Some((s, e))
}

/// A bare 9-digit SSN after its keyword, unless the number is a metric's sample value:
/// `phi_redactions_total{kind="ssn"} 255410496` or `ssn_lookups_total 255410496` in
/// Prometheus or OpenMetrics text.
pub fn ssn_after_label(b: &[u8]) -> Option<(usize, usize)> {
    let (s, e) = ssn(b)?;
    (!metric_sample(&b[..s])).then_some((s, e))
}

/// An MRN, member id or account number after its label, unless the number is a metric's
/// sample value (`phimesh_phi_detections_total{kind="mrn"} 12345`).
pub fn id_after_label(b: &[u8]) -> Option<(usize, usize)> {
    let (s, e) = id_with_digits(b)?;
    (!metric_sample(&b[..s])).then_some((s, e))
}

/// Whether a value after `before` is the sample value of a Prometheus or OpenMetrics line:
/// whitespace after a label set (`}`) or after a counter's or histogram's name.
fn metric_sample(before: &[u8]) -> bool {
    const SUFFIXES: [&[u8]; 6] = [
        b"_total",
        b"_count",
        b"_sum",
        b"_bucket",
        b"_created",
        b"_info",
    ];
    let trimmed = before.trim_ascii_end();
    trimmed.len() < before.len()
        && (trimmed.ends_with(b"}") || SUFFIXES.iter().any(|x| trimmed.ends_with(x)))
}

const MBI_LETTERS: &[u8] = b"ACDEFGHJKMNPQRTUVWXY";

/// Medicare Beneficiary Identifier: 11 characters, dashes either at both places or none.
pub fn mbi(b: &[u8]) -> Option<(usize, usize)> {
    let mut e = b.len();
    if e > 0 && !b[e - 1].is_ascii_alphanumeric() {
        e -= 1;
    }
    // The value is the last 11 characters, or 13 with two dashes.
    let s = if e >= 13 && b[e - 5] == b'-' && b[e - 9] == b'-' {
        e - 13
    } else {
        e.checked_sub(11)?
    };
    let v = &b[s..e];
    let chars: Vec<u8> = v.iter().copied().filter(|&c| c != b'-').collect();
    let dashes = v.len() - chars.len();
    if chars.len() != 11 || (dashes != 0 && dashes != 2) {
        return None;
    }
    if dashes == 2 && (v[4] != b'-' || v[8] != b'-') {
        return None;
    }
    let letter = |c: u8| MBI_LETTERS.contains(&c);
    let num = |c: u8| c.is_ascii_digit();
    let ok = (b'1'..=b'9').contains(&chars[0])
        && letter(chars[1])
        && (letter(chars[2]) || num(chars[2]))
        && num(chars[3])
        && letter(chars[4])
        && (letter(chars[5]) || num(chars[5]))
        && num(chars[6])
        && letter(chars[7])
        && letter(chars[8])
        && num(chars[9])
        && num(chars[10]);
    ok.then_some((s, e))
}

/// An identifier next to its keyword: 4 to 24 characters with at least 4 digits, not a
/// placeholder, and not a date or a word.
pub fn id_with_digits(b: &[u8]) -> Option<(usize, usize)> {
    let (s, e) = trailing_token(b);
    let v = &b[s..e];
    let nd = v.iter().filter(|c| c.is_ascii_digit()).count();
    if !(4..=24).contains(&v.len()) || nd < 4 {
        return None;
    }
    // A masked number (`****6789`, `XXXX-1234`, `•••6789`) shows only its last digits.
    if s > 0 && matches!(b[s - 1], b'*' | 0xa2)
        || v.windows(3)
            .any(|w| w.iter().all(|&c| c == b'X' || c == b'x'))
    {
        return None;
    }
    // Identifiers are digits with upper-case (or lower-case) letters; a token that mixes both
    // cases among several letters is base64 or a hash (`...QMRN+XmMGX18Sq84`).
    let upper = v.iter().filter(|c| c.is_ascii_uppercase()).count();
    let lower = v.iter().filter(|c| c.is_ascii_lowercase()).count();
    if upper > 0 && lower > 0 && upper + lower >= 3 {
        return None;
    }
    let d = digits(v);
    if d.iter().all(|&x| x == d[0]) && nd == v.len() {
        return None;
    }
    Some((s, e))
}

fn trailing_token(b: &[u8]) -> (usize, usize) {
    let mut end = b.len();
    while end > 0 && !(b[end - 1].is_ascii_alphanumeric()) {
        end -= 1;
    }
    let mut start = end;
    while start > 0 && (b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'-') {
        start -= 1;
    }
    while start < end && b[start] == b'-' {
        start += 1;
    }
    (start, end)
}

/// A date of birth after its keyword: a real calendar date between 1900 and 2035.
pub fn dob(b: &[u8]) -> Option<(usize, usize)> {
    // The value starts at the first digit or month name after the keyword's gap.
    let mut end = b.len();
    while end > 0 && !b[end - 1].is_ascii_alphanumeric() {
        end -= 1;
    }
    // Find the start: scan backwards over date characters.
    let mut start = end;
    while start > 0 {
        let c = b[start - 1];
        if c.is_ascii_alphanumeric() || matches!(c, b'/' | b'-' | b'.' | b' ' | b',') {
            start -= 1;
        } else {
            break;
        }
    }
    let text = std::str::from_utf8(&b[start..end]).ok()?;
    // Drop the keyword and filler words in front of the date.
    let lower = text.to_ascii_lowercase();
    let mut idx = 0;
    for (i, ch) in lower.char_indices() {
        if ch.is_ascii_digit()
            || MONTHS
                .iter()
                .any(|m| lower[i..].starts_with(m) && month_word_at(&lower, i))
        {
            idx = i;
            break;
        }
        idx = lower.len();
    }
    let value = &text[idx..];
    if value.is_empty() || !plausible_date(value) {
        return None;
    }
    Some((start + idx, end))
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn month_word_at(s: &str, i: usize) -> bool {
    i == 0 || !s.as_bytes()[i - 1].is_ascii_alphabetic()
}

fn month_of(word: &str) -> Option<u32> {
    let w = word.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| w.starts_with(m))
        .map(|p| p as u32 + 1)
}

fn plausible_ymd(y: u32, m: u32, d: u32) -> bool {
    (1900..=2035).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d)
}

fn plausible_date(v: &str) -> bool {
    let parts: Vec<&str> = v
        .split(['/', '-', '.', ' ', ','])
        .filter(|p| !p.is_empty())
        .collect();
    let num = |s: &str| -> Option<u32> {
        let t = s.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        if t.is_empty() || t.len() > 4 || !t.bytes().all(|c| c.is_ascii_digit()) {
            None
        } else {
            t.parse().ok()
        }
    };
    match parts.len() {
        1 => {
            let p = parts[0];
            if p.len() == 8 && p.bytes().all(|c| c.is_ascii_digit()) {
                let n: u32 = p.parse().unwrap_or(0);
                let (y, m, d) = (n / 10000, n / 100 % 100, n % 100);
                // YYYYMMDD (HL7 style) or MMDDYYYY.
                plausible_ymd(y, m, d) || plausible_ymd(n % 10000, n / 1_000_000, n / 10000 % 100)
            } else {
                false
            }
        }
        3 | 4 => {
            let (a, b, c) = (parts[0], parts[1], parts[2]);
            if let Some(m) =
                month_of(a).filter(|_| a.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
            {
                // "March 3, 1961"
                return matches!((num(b), num(c)), (Some(d), Some(y)) if plausible_ymd(y, m, d));
            }
            let b_month =
                month_of(b).filter(|_| b.chars().next().is_some_and(|c| c.is_ascii_alphabetic()));
            let (Some(x), Some(z)) = (num(a), num(c)) else {
                return false;
            };
            if let Some(m) = b_month {
                // "3 March 1961"
                return plausible_ymd(z, m, x);
            }
            let Some(y_or_m) = num(b) else {
                return false;
            };
            if a.len() == 4 {
                return plausible_ymd(x, y_or_m, z);
            }
            let year = if c.len() == 2 { 1900 + z } else { z };
            if c.len() != 2 && c.len() != 4 {
                return false;
            }
            // US month/day/year, or day/month/year.
            plausible_ymd(year, x, y_or_m) || plausible_ymd(year, y_or_m, x)
        }
        _ => false,
    }
}

fn luhn(d: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &x) in d.iter().rev().enumerate() {
        let mut v = x as u32;
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// A date standing alone (a date-of-birth column): a plausible calendar date.
pub fn date_value(b: &[u8]) -> Option<(usize, usize)> {
    // A time of day after the date (`1995-07-19 00:00:00`, `1995-07-19T00:00:00Z`, SQL and
    // Cerner exports) is not part of it.
    let cut = b
        .windows(3)
        .position(|w| w[0].is_ascii_digit() && w[1] == b':' && w[2].is_ascii_digit())
        .and_then(|i| {
            // Back to the separator before the hour.
            b[..i].iter().rposition(|&c| c == b' ' || c == b'T')
        });
    if let Some(c) = cut {
        if let Some(r) = dob(&b[..c]) {
            return Some(r);
        }
    }
    dob(b).or_else(|| sas_date(b))
}

/// `22MAR1966`: day, month abbreviation and year with no separator (SAS `DATE9.`, mainframe
/// and Cerner extracts).
fn sas_date(b: &[u8]) -> Option<(usize, usize)> {
    let (s, e) = trailing_token(b);
    let v = &b[s..e];
    if !(8..=9).contains(&v.len()) {
        return None;
    }
    let dl = v.len() - 7;
    let (d, m, y) = (&v[..dl], &v[dl..dl + 3], &v[dl + 3..]);
    if !d.iter().chain(y).all(u8::is_ascii_digit) || !m.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    let month = month_of(std::str::from_utf8(m).ok()?)?;
    let num = |x: &[u8]| x.iter().fold(0u32, |a, &c| a * 10 + u32::from(c - b'0'));
    plausible_ymd(num(y), month, num(d)).then_some((s, e))
}

/// An identifier filling a labelled column: as [`id_with_digits`], or digit groups with dots
/// between them (`632.943.718`).
pub fn column_id(b: &[u8]) -> Option<(usize, usize)> {
    if let Some(r) = id_with_digits(b) {
        return Some(r);
    }
    let e = b.iter().rposition(|c| !c.is_ascii_whitespace())? + 1;
    let s = b[..e]
        .iter()
        .rposition(|c| c.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let v = &b[s..e];
    let digits = v.iter().filter(|c| c.is_ascii_digit()).count();
    let dots = v.iter().filter(|&&c| c == b'.').count();
    let ok = v.len() <= 24
        && digits >= 6
        && dots >= 2
        && digits + dots == v.len()
        && v[0].is_ascii_digit()
        && v[v.len() - 1].is_ascii_digit()
        && !v.windows(2).any(|w| w == b"..");
    ok.then_some((s, e))
}

/// A name standing alone (a name column): at least two words of letters.
pub fn name_value(b: &[u8]) -> Option<(usize, usize)> {
    let (s, e) = name(b)?;
    let words = b[s..e]
        .split(|c| matches!(c, b' ' | b',' | b'^'))
        .filter(|w| {
            w.len() >= 2
                && w.iter()
                    .all(|c| c.is_ascii_alphabetic() || matches!(c, b'\'' | b'-' | b'.'))
        })
        .count();
    (words >= 2).then_some((s, e))
}

/// Payment card: 15 or 16 digits (the issuer prefix is in the pattern), Luhn-valid, not a
/// run of one digit, consistent separators.
pub fn card(b: &[u8]) -> Option<(usize, usize)> {
    let (s, e) = trailing_value(b, |c| c.is_ascii_digit());
    let d = digits(&b[s..e]);
    if !(15..=19).contains(&d.len()) || !known_issuer(&d) || !luhn(&d) {
        return None;
    }
    let distinct = {
        let mut seen = [false; 10];
        d.iter().for_each(|&x| seen[x as usize] = true);
        seen.iter().filter(|&&x| x).count()
    };
    if distinct < 4 {
        return None;
    }
    Some((s, e))
}

/// Issuer (IIN) prefixes of the major networks: Visa, Mastercard (51-55, 2221-2720), American
/// Express (34, 37, 15 digits), Discover (6011, 644-649, 65), JCB (3528-3589).
fn known_issuer(d: &[u8]) -> bool {
    let n = |k: usize| d.iter().take(k).fold(0u32, |a, &x| a * 10 + x as u32);
    match d.len() {
        15 => matches!(n(2), 34 | 37),
        16 => {
            d[0] == 4
                || (51..=55).contains(&n(2))
                || (2221..=2720).contains(&n(4))
                || n(4) == 6011
                || (644..=649).contains(&n(3))
                || n(2) == 65
                || (3528..=3589).contains(&n(4))
        }
        19 => d[0] == 4 || n(4) == 6011 || n(2) == 65 || (3528..=3589).contains(&n(4)),
        _ => false,
    }
}

/// NPI: 10 digits starting 1 or 2, Luhn over the number prefixed with 80840.
pub fn npi(b: &[u8]) -> Option<(usize, usize)> {
    let (s, e) = trailing_value(b, |c| c.is_ascii_digit());
    let d = digits(&b[s..e]);
    if d.len() != 10 {
        return None;
    }
    let mut full = vec![8, 0, 8, 4, 0];
    full.extend_from_slice(&d);
    luhn(&full).then_some((s, e))
}

/// DEA number: 2 letters, 7 digits; (d1+d3+d5) + 2*(d2+d4+d6) ends in d7.
pub fn dea(b: &[u8]) -> Option<(usize, usize)> {
    let mut e = b.len();
    if e > 0 && !b[e - 1].is_ascii_alphanumeric() {
        e -= 1;
    }
    let s = e.checked_sub(9)?;
    let v = &b[s..e];
    if v.len() != 9 {
        return None;
    }
    let d = digits(&v[2..]);
    if d.len() != 7 {
        return None;
    }
    let sum = (d[0] + d[2] + d[4]) as u32 + 2 * (d[1] + d[3] + d[5]) as u32;
    (sum % 10 == d[6] as u32).then_some((s, e))
}

/// HL7 PID: the last field of the match holds an identifier with a digit or a name with
/// letters (not just component separators).
pub fn hl7_pid_field(b: &[u8]) -> Option<(usize, usize)> {
    let s = b.iter().position(|&c| c == b'P')?;
    let mut e = b.len();
    if matches!(b[e - 1], b'|' | b'\r' | b'\n') {
        e -= 1;
    }
    let last = b[s..e].rsplit(|&c| c == b'|').next()?;
    let useful = last.iter().filter(|c| c.is_ascii_alphanumeric()).count();
    (useful >= 2).then_some((s, e))
}

/// HL7 PID with a FAMILY^GIVEN name: the window ends at the name; the segment is the last
/// `PID|` in it, and the name must be within that segment.
pub fn hl7_pid_name(b: &[u8]) -> Option<(usize, usize)> {
    let s = memchr::memmem::rfind(b, b"PID|")?;
    if b[s..].iter().any(|&c| c == b'\r' || c == b'\n') {
        return None;
    }
    let caret = b[s..].iter().rposition(|&c| c == b'^')? + s;
    let family = b[..caret].rsplit(|&c| c == b'|').next()?;
    (family.iter().filter(|c| c.is_ascii_alphabetic()).count() >= 2).then_some((s, b.len()))
}

/// The whole match is the finding (structure markers).
pub fn whole(b: &[u8]) -> Option<(usize, usize)> {
    Some((0, b.len()))
}

/// Role mailboxes of an organisation are not a patient's address.
const ROLE_MAILBOXES: &[&str] = &[
    "info",
    "support",
    "help",
    "contact",
    "noreply",
    "no-reply",
    "donotreply",
    "admin",
    "billing",
    "appointments",
    "frontdesk",
    "front-desk",
    "records",
    "medical-records",
    "privacy",
    "webmaster",
    "postmaster",
    "hr",
    "careers",
    "jobs",
    "press",
    "media",
    "sales",
    "security",
    "abuse",
    "hello",
    "office",
    "reception",
    "scheduling",
    "referrals",
    "compliance",
    "it",
    "helpdesk",
    "service",
    "feedback",
    "team",
    // Systems and teams that send and receive mail in ordinary service traffic.
    "alerts",
    "alert",
    "notifications",
    "notification",
    "notify",
    "ops",
    "devops",
    "sre",
    "oncall",
    "on-call",
    "platform",
    "dev",
    "engineering",
    "root",
    "mailer-daemon",
    "bounce",
    "bounces",
    "system",
    "sysadmin",
    "monitoring",
    "accounts",
    "accounting",
    "finance",
    "payroll",
    "legal",
    "marketing",
    "newsletter",
    "updates",
    "do-not-reply",
    "do_not_reply",
    "no_reply",
    "servicedesk",
    "service-desk",
    "customerservice",
    "customer-service",
    "customercare",
    "membership",
    "enrollment",
    "claims",
    "eligibility",
    "pharmacy",
    "radiology",
    "triage",
    "patientservices",
    "patient-services",
    "patient.services",
    "patientrelations",
    "patient-relations",
    "medicalrecords",
];

/// An e-mail address that may be a person's: not a role mailbox, a reserved domain or an id a
/// machine made.
pub fn email(b: &[u8]) -> Option<(usize, usize)> {
    let at = b.iter().rposition(|&c| c == b'@')?;
    let mut s = at;
    while s > 0
        && (b[s - 1].is_ascii_alphanumeric()
            || matches!(b[s - 1], b'.' | b'_' | b'%' | b'+' | b'-'))
    {
        s -= 1;
    }
    let mut e = b.len();
    while e > s && !b[e - 1].is_ascii_alphabetic() {
        e -= 1;
    }
    let v = &b[s..e];
    let at = v.iter().position(|&c| c == b'@')?;
    let local = std::str::from_utf8(&v[..at]).ok()?.to_ascii_lowercase();
    let domain = std::str::from_utf8(&v[at + 1..]).ok()?.to_ascii_lowercase();
    if ROLE_MAILBOXES.contains(&local.as_str())
        || domain.ends_with("example.invalid")
        || machine_local_part(&local)
    {
        return None;
    }
    Some((s, e))
}

/// A local part no person has: a UUID or a long hex id (`Message-ID: <uuid@mail.host>`,
/// `bounce-8f3a...@`), the ids mail servers and trackers generate.
fn machine_local_part(local: &str) -> bool {
    let hex = local.bytes().filter(|c| c.is_ascii_hexdigit()).count();
    let other = local
        .bytes()
        .filter(|c| !c.is_ascii_hexdigit() && *c != b'-' && *c != b'.')
        .count();
    hex >= 16 && other == 0
}

/// A NANP phone number: area code and exchange do not start with 0 or 1, no 555-01xx
/// fictional range filter (those still look like real numbers in traffic).
pub fn phone(b: &[u8]) -> Option<(usize, usize)> {
    let (s, e) = trailing_value(b, |c| c.is_ascii_digit());
    // Include an opening parenthesis and a leading "+1".
    let mut start = s;
    while start > 0
        && matches!(
            b[start - 1],
            b'(' | b'+' | b')' | b' ' | b'-' | b'.' | b'0'..=b'9'
        )
    {
        start -= 1;
    }
    while start < s && !matches!(b[start], b'(' | b'+' | b'0'..=b'9') {
        start += 1;
    }
    let mut d = digits(&b[start..e]);
    if d.len() == 11 && d[0] == 1 {
        d.remove(0);
    }
    if d.len() != 10 || d[0] < 2 || d[3] < 2 {
        return None;
    }
    Some((start, e))
}

/// A name after a patient keyword: not a phrase of common non-name words.
pub fn name(b: &[u8]) -> Option<(usize, usize)> {
    let text = std::str::from_utf8(b).ok()?;
    // Drop the trailing boundary, then the value starts after the last ':', '=', '"', '|'
    // or '{' before it.
    let text = text.trim_end_matches(|c: char| !c.is_ascii_alphabetic());
    let vs = text
        .rfind([':', '=', '"', '\'', '|', '{', '\n'])
        .map(|i| i + 1)
        .unwrap_or(0);
    let mut value = &text[vs..];
    let lead = value.len() - value.trim_start().len();
    value = value.trim_start();
    let trimmed = value.trim_end_matches(|c: char| !c.is_ascii_alphabetic());
    if trimmed.len() < 4 {
        return None;
    }
    let words: Vec<&str> = trimmed
        .split([' ', ',', '^', '.'])
        .filter(|w| !w.is_empty())
        .collect();
    if words
        .iter()
        .any(|w| NOT_NAMES.contains(&w.to_ascii_lowercase().as_str()))
    {
        return None;
    }
    let start = vs + lead;
    Some((start, start + trimmed.len()))
}

/// A name at the end of a label written without punctuation ("PATIENT NAME DOE, JANE"): the
/// value is `Last, First` (from the word before the last comma) or `First M. Last` (the last
/// three words).
pub fn name_tail(b: &[u8]) -> Option<(usize, usize)> {
    let text = std::str::from_utf8(b).ok()?;
    let text = text.trim_end_matches(|c: char| !c.is_ascii_alphabetic());
    let is_word = |c: char| c.is_ascii_alphabetic() || c == '\'' || c == '-';
    let start = match text.rfind(',') {
        Some(comma) => text[..comma]
            .trim_end()
            .rfind(|c: char| !is_word(c))
            .map_or(0, |i| i + 1),
        None => {
            let mut st = text.len();
            for _ in 0..3 {
                let head = text[..st].trim_end();
                st = head.rfind(' ').map_or(0, |i| i + 1);
            }
            st
        }
    };
    let value = &text[start..];
    let words: Vec<&str> = value
        .split([' ', ',', '.'])
        .filter(|w| !w.is_empty())
        .collect();
    // Without a comma the form is `First M. Last`.
    let initial_form = words.len() == 3 && words[1].len() == 1;
    if words.len() < 2
        || (!value.contains(',') && !initial_form)
        || words
            .iter()
            .any(|w| NOT_NAMES.contains(&w.to_ascii_lowercase().as_str()))
    {
        return None;
    }
    Some((start, text.len()))
}

/// Words that follow "Patient:" or "Member:" in product copy and headings, not in records.
const NOT_NAMES: &[&str] = &[
    "portal",
    "access",
    "information",
    "info",
    "services",
    "service",
    "education",
    "resources",
    "resource",
    "support",
    "login",
    "care",
    "safety",
    "rights",
    "experience",
    "satisfaction",
    "engagement",
    "financial",
    "billing",
    "intake",
    "forms",
    "form",
    "center",
    "centre",
    "relations",
    "advocate",
    "advocacy",
    "navigator",
    "api",
    "data",
    "record",
    "records",
    "search",
    "list",
    "summary",
    "details",
    "identifier",
    "id",
    "name",
    "unknown",
    "none",
    "null",
    "test",
    "demo",
    "example",
    "sample",
    "anonymous",
    "redacted",
    "the",
    "and",
    "for",
    "with",
    "health",
    "plan",
    "benefits",
    "directory",
    "provider",
    "providers",
    "resource",
    "type",
    "status",
    "count",
    "total",
    "new",
    "existing",
    "home",
    "page",
    "guide",
    "not",
    "available",
    "applicable",
    "provided",
    "given",
    "verified",
    "above",
    "below",
    "same",
    "see",
    "attached",
    "portal",
    // An organisation or a team, not a person ("Acme Corp", "Platform Team").
    "corp",
    "corporation",
    "inc",
    "llc",
    "ltd",
    "llp",
    "plc",
    "gmbh",
    "company",
    "group",
    "team",
    "labs",
    "laboratories",
    "systems",
    "solutions",
    "technologies",
    "software",
    "partners",
    "associates",
    "holdings",
    "enterprises",
    "industries",
    "foundation",
    "university",
    "college",
    "hospital",
    "clinic",
    "pharmacy",
    "department",
    "dept",
    "agency",
    "platform",
    "operations",
    "engineering",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssn_rules() {
        assert!(ssn(b" 219-09-9999 ").is_some());
        assert_eq!(ssn(b" 219-09-9999,"), Some((1, 12)));
        for bad in [
            &b" 000-12-3456 "[..],
            b" 666-12-3456 ",
            b" 912-12-3456 ",
            b" 219-00-3456 ",
            b" 219-12-0000 ",
            b" 111-11-1111 ",
            b" 078-05-1120 ",
        ] {
            assert!(ssn(bad).is_none(), "{}", String::from_utf8_lossy(bad));
        }
        assert_eq!(ssn(b"SSN: 219099999\""), Some((5, 14)));
        assert!(ssn(b"SSN: 219099990\"").is_some());
        assert!(ssn(b"SSN: 000099990\"").is_none());
    }

    #[test]
    fn mbi_rules() {
        assert!(mbi(b" 1EG4-TE5-MK73 ").is_some());
        assert!(mbi(b" 1EG4TE5MK73 ").is_some());
        assert!(mbi(b" 1EG4-TE5MK73 ").is_none(), "one dash only");
        assert!(mbi(b" 0EG4TE5MK73 ").is_none(), "first is 1-9");
        assert!(mbi(b" 1SG4TE5MK73 ").is_none(), "S is excluded");
        assert!(mbi(b" 1EG4TE5MK7A ").is_none());
    }

    #[test]
    fn luhn_checks() {
        assert!(
            card(b" 4111 1111 1111 1111 ").is_none(),
            "too few distinct digits"
        );
        assert!(card(b" 4539578763621486 ").is_some());
        assert!(card(b" 4539578763621487 ").is_none());
        assert!(card(b" 3782-822463-10005 ").is_some());
        assert!(npi(b"NPI: 1234567893 ").is_some());
        assert!(npi(b"NPI: 1234567890 ").is_none());
        assert!(dea(b" AB1234563 ").is_some());
        assert!(dea(b" AB1234564 ").is_none());
    }

    #[test]
    fn dates_of_birth() {
        assert!(dob(b"DOB: 03/14/1961 ").is_some());
        assert!(dob(b"\"birthDate\": \"1961-03-14\"").is_some());
        assert!(dob(b"date of birth is March 14, 1961.").is_some());
        assert!(dob(b"dob=19610314&").is_some());
        assert!(dob(b"DOB: 13/45/1961 ").is_none());
        assert!(dob(b"DOB: 03/14/1861 ").is_none());
    }

    #[test]
    fn identifiers_need_digits() {
        assert!(id_with_digits(b"MRN: 00482913 ").is_some());
        assert!(id_with_digits(b"MRN: A12B34C56 ").is_some());
        assert!(id_with_digits(b"MRN: pending ").is_none());
        assert!(id_with_digits(b"MRN: 0000000 ").is_none());
    }

    #[test]
    fn masked_and_encoded_tokens_are_not_identifiers() {
        assert!(id_with_digits(b"acct #: ****6789\"").is_none());
        assert!(id_with_digits(b"account: XXXX-XXXX-1234 ").is_none());
        assert!(id_with_digits(b"mrn: xxx12345 ").is_none());
        assert!(id_with_digits(b"MRN+XmMGX18Sq84\"").is_none(), "base64");
        assert!(id_with_digits(b"MRN: e1234567 ").is_some(), "one case only");
        assert!(id_with_digits(b"MrnId\": \"H687188152\"").is_some());
        assert!(id_with_digits(b"account: A14837415.").is_some());
    }

    #[test]
    fn list_items_are_not_labels() {
        assert!(space_or_bracket(b' '));
        assert!(space_or_bracket(b'['));
        assert!(!space_or_bracket(b','));
        assert!(!space_or_bracket(b'\t'));
        assert!(space_bracket_or_dot(b'.'));
        assert!(!space_bracket_or_dot(b','));
    }

    #[test]
    fn names_after_a_bare_label() {
        let t = b"PATIENT NAME ZABROWSKI, SEBASTIEN\n";
        let (s, e) = name_tail(t).unwrap();
        assert_eq!(&t[s..e], b"ZABROWSKI, SEBASTIEN");
        let t = b"patient Jane Q. Doe was";
        assert!(name_tail(b"patient Harrowgate, Cosima ").is_some());
        assert!(name_tail(&t[..19]).is_some());
        assert!(name_tail(b"Patient Safety, Quality ").is_none());
        assert!(name_tail(b"patient Smith ").is_none(), "one word");
        assert!(name(b"name=\"patient_name\"\r\n\r\nJane Doe\r").is_some());
        let t = b"Name of patient: NOT AVAILABLE\n";
        assert!(name(t).is_none());
    }

    #[test]
    fn names_and_contacts() {
        assert!(name(b"Patient: Jane Doe\n").is_some());
        assert!(name(b"\"patient_name\": \"Doe, Jane\"").is_some());
        assert!(name(b"Patient: Portal Access\n").is_none());
        assert!(email(b" jane.doe77@mail.test ").is_some());
        assert!(email(b" support@clinic.test ").is_none());
        assert!(phone(b"phone: (415) 555-2671 ").is_some());
        assert!(phone(b"phone: (015) 555-2671 ").is_none());
    }
}
