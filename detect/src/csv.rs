//! Column-aware detection in CSV (and TSV, `;`- or `|`-separated) exports.
//!
//! In a CSV export the label of a value is the column header, far from the value. When one of
//! the first lines of a stream looks like a header that names identifier columns (`mrn`,
//! `member_dob`, `"SSN"`...), each later field of such a column is checked with that kind's
//! validator. The header need not be the first line: reports put a title and a run date above it,
//! and a CSV file uploaded in a multipart body comes after the part's headers. A
//! field's bytes are held back (see [`CsvColumns::pending_start`]) until the field ends, so the
//! scanner's hold-back rule holds here too. Name, e-mail and phone columns count as contextual:
//! a provider directory (`provider_name`, `practice_phone`) is not PHI.

use crate::rules::{Kind, Role, Validator};
use crate::validate as v;

/// Longest header line considered: as many names as a header may have, each as long as a
/// field may be. A longer line is no header; the lines below it are still searched.
const MAX_HEADER: usize = MAX_COLUMNS * (MAX_FIELD + 1);
/// Lines searched for a header (a report's title lines, a multipart part's headers); in a
/// multipart body, lines after each boundary.
const MAX_HEADER_LINES: usize = 16;
/// Longest field validated; identifiers are short, longer fields are text.
const MAX_FIELD: usize = 64;
/// Most columns tracked.
const MAX_COLUMNS: usize = 256;
/// Fewest content bytes that can hold a column finding: a label names a column only with two or
/// more letters or digits (`pt`, `ssn`), and its value (at least a byte) comes after a delimiter
/// or a line break.
pub(crate) const SHORTEST_FINDING: usize = 4;

#[derive(Clone, Copy)]
struct Column {
    kind: Kind,
    role: Role,
    validate: Validator,
}

enum Phase {
    /// Looking for the header: the current line so far, lines already read.
    Header(Vec<u8>, usize),
    Rows,
    Off,
}

pub(crate) struct CsvColumns {
    phase: Phase,
    delim: u8,
    columns: Vec<Option<Column>>,
    /// Whether a label read here (a header column, a multipart field name, a transposed row)
    /// names a patient's data: patient context for contextual values.
    pub(crate) patient_context: bool,
    col: usize,
    in_quotes: bool,
    field: Vec<u8>,
    field_start: u64,
    field_too_long: bool,
    /// Absolute start of the line being read while looking for the header.
    line_start: u64,
    /// The stream is a multipart body (its first line is a `--boundary`): the header search
    /// starts again after every boundary line, so a CSV part after a large part is still read.
    multipart: bool,
    /// The current line cannot be a header (too long, a first line that opens with markup, or
    /// no boundary yet after the lines searched in this part): it is only read to its end.
    skip_line: bool,
    /// Bytes of the line being read past so far (`skip_line`).
    skipped_len: usize,
    /// While the first line is read past because it opens with markup: the brackets it has
    /// opened and not closed so far ([`bracket_depth`]).
    opened: Option<i64>,
    waiting_boundary: bool,
    /// In a multipart body: reading a part's header lines.
    in_part_headers: bool,
    /// The column a part's field name (`Content-Disposition: form-data; name="member_dob"`)
    /// stands for, while its headers are read; then the column of the part's first body line.
    part_label: Option<Column>,
    part_value: Option<Column>,
    /// A `Field,Value` export: the row's first field labels its second.
    transposed: bool,
    row_label: Option<Column>,
    /// The previous line while looking for the header: a fixed-width report (sqlcmd, SQL*Plus)
    /// names its columns on the line above a rule of dashes.
    last_line: Vec<u8>,
    /// Fixed-width rows: the byte offset in the line where each column starts.
    fixed: Option<Vec<usize>>,
    /// Byte offset in the current line (fixed-width rows).
    pos: usize,
}

/// A value found in a keyed column: kind, role, absolute normalised span.
pub(crate) struct ColumnFinding {
    pub(crate) kind: Kind,
    pub(crate) role: Role,
    pub(crate) start: u64,
    pub(crate) end: u64,
}

fn column_kind(name: &[u8]) -> Option<Column> {
    let n: String = name
        .iter()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase() as char)
        .collect();
    let has = |k: &str| contains(n.as_bytes(), k.as_bytes());
    let strong = |kind, validate| {
        Some(Column {
            kind,
            role: Role::Strong,
            validate,
        })
    };
    let contextual = |kind, validate| {
        Some(Column {
            kind,
            role: Role::Contextual,
            validate,
        })
    };
    if has("ssn") || has("socialsecurity") || has("socsec") {
        strong(Kind::Ssn, v::ssn as Validator)
    } else if has("mbi")
        || has("medicareid")
        || has("medicarebeneficiary")
        || has("medicareno")
        || has("hicn")
    {
        strong(Kind::Mbi, v::mbi)
    } else if has("mrn")
        || has("medicalrecord")
        || has("chartno")
        || has("chartnumber")
        || has("patientid")
        // Epic Clarity's `PAT_ID`, `PAT_MRN_ID`.
        || n.starts_with("patid")
        || n.starts_with("patmrn")
        // Spanish and French exports.
        || has("expediente")
        || has("dossiermedical")
        || has("medrecnbr")
        || has("chartid")
        // Meditech's unit number.
        || n.starts_with("unitnumber")
        || n.starts_with("unitno")
    {
        strong(Kind::Mrn, v::column_id)
    } else if has("memberid")
        || has("subscriberid")
        || has("memberno")
        || has("membernumber")
        || has("policyno")
        || has("policynumber")
        || has("beneficiaryid")
        || has("medicaidid")
        // `SUBS_MEMBER_NBR`, Cerner's `MEM_NUMBER`.
        || has("membernbr")
        || n.starts_with("memnumber")
        || n.starts_with("memnbr")
        || has("afiliado")
        || has("subscriberno")
        || has("subscribernbr")
        || has("subscribernumber")
        || has("insuranceid")
        || has("insuranceno")
        || has("insurancenumber")
        || has("insurancenbr")
        || has("policymember")
    {
        strong(Kind::MemberId, v::column_id)
    } else if has("accountno")
        || has("accountnumber")
        || has("acctno")
        || has("acctnum")
        || has("accountnum")
        || has("patientaccount")
        || has("billingaccount")
        // Epic's hospital account (`HSP_ACCOUNT_ID`, `HAR`), Cerner's financial number.
        || has("hspaccount")
        || has("hospitalaccount")
        || has("finnbr")
        || has("finnumber")
        || has("numerocuenta")
        || has("encacct")
        || has("acctnbr")
        || has("accountnbr")
        || has("billingacct")
        || has("patientacct")
        || has("hospacct")
        || has("guarantoracct")
        || has("visitacct")
    {
        strong(Kind::AccountNumber, v::column_id)
    } else if has("dob")
        || has("birthdate")
        || has("birthdt")
        || has("dateofbirth")
        || has("birthday")
        || has("nacimiento")
        || has("naissance")
    {
        strong(Kind::Dob, v::date_value)
    } else if has("cardnumber") || has("ccnum") || has("cardno") || has("creditcard") || n == "pan"
    {
        strong(Kind::CreditCard, v::card)
    } else if has("email") || has("correo") || has("courriel") {
        contextual(Kind::PatientEmail, v::email)
    } else if has("phone")
        || has("mobile")
        || has("tel")
        || has("cell")
        || has("movil")
        || has("contactno")
        || has("contactnumber")
        || has("contactnbr")
    {
        contextual(Kind::PatientPhone, v::phone)
    } else if (n.ends_with("name")
        || n.ends_with("namefull")
        || n.ends_with("nametext")
        || n.ends_with("nametxt")
        // A column named after the person (`Patient`, `PT`), or Clarity's `NM` suffix.
        || matches!(n.as_str(), "patient" | "pt" | "paciente" | "member")
        || (n.ends_with("nm") && is_patient_label(name))
        || n.starts_with("nombre")
        || n == "nom"
        || n.starts_with("nompatient")
        || n.starts_with("nomdupatient"))
        && !has("provider")
        && !has("practice")
        && !has("facility")
        && !has("clinic")
        && !has("org")
        && !has("drug")
        && !has("file")
        && !has("user")
    {
        contextual(Kind::PatientName, v::name_value)
    } else {
        None
    }
}

/// Whether `needle` occurs in `hay`. Labels are short and most needles longer than them, so
/// this plain loop (length test, then first byte) beats `str::contains`, whose searcher setup
/// was most of the cost of reading a short message's first line (`column_kind` asks ~90 times).
fn contains(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, _)) = needle.split_first() else {
        return true;
    };
    hay.len() >= needle.len()
        && hay
            .windows(needle.len())
            .any(|w| w[0] == first && w == needle)
}

/// A label that names a patient's data (`patient_phone`, `MemberDob`, Clarity's `PAT_NAME`).
fn is_patient_label(f: &[u8]) -> bool {
    let n: String = f
        .iter()
        .filter(|c| c.is_ascii_alphabetic())
        .map(|c| c.to_ascii_lowercase() as char)
        .collect();
    [
        "patient",
        "paciente",
        "member",
        "beneficiary",
        "subscriber",
        "enrollee",
        "insured",
        "guarantor",
    ]
    .iter()
    .any(|k| contains(n.as_bytes(), k.as_bytes()))
        || pat_prefixed(f)
        || pt_prefixed(f)
}

/// The `PT` abbreviation as a word of its own: `Pt Email`, `PT_PHONE`, `ptEmail`, `PtName`;
/// not `ptr`, `pts` or `PTEMAIL`.
fn pt_prefixed(f: &[u8]) -> bool {
    abbreviation_word(f, b"pt", u8::is_ascii_alphanumeric)
}

/// Epic Clarity's `PAT_` abbreviation: `PAT_ID`, `pat-name`, `patHomePhone`, `PatName`; not
/// `path`, `PATH`, `patch` or `pattern`.
fn pat_prefixed(f: &[u8]) -> bool {
    abbreviation_word(f, b"pat", u8::is_ascii_alphabetic)
}

/// Whether the label `f` (maybe quoted) starts with `abbrev` as a word of its own: the byte
/// after it is no `word` byte, or lower case turns to a capital there (`patHome`, `PtName`).
fn abbreviation_word(f: &[u8], abbrev: &[u8], word: fn(&u8) -> bool) -> bool {
    let f = f.strip_prefix(b"\"").unwrap_or(f);
    let n = abbrev.len();
    if f.len() <= n || !f[..n].eq_ignore_ascii_case(abbrev) {
        return false;
    }
    let next = f[n];
    !word(&next) || (f[1..n].iter().all(u8::is_ascii_lowercase) && next.is_ascii_uppercase())
}

/// The field name of a `Content-Disposition: form-data; name="..."` line; `None` for a file
/// part (`filename=`), whose content is read as a file.
fn form_field_name(line: &[u8]) -> Option<&[u8]> {
    let lower = line.to_ascii_lowercase();
    if memchr::memmem::find(&lower, b"filename").is_some() {
        return None;
    }
    let at = memchr::memmem::find(&lower, b"name=\"")? + 6;
    let len = memchr::memchr(b'"', &line[at..])?;
    Some(&line[at..at + len])
}

/// Checks one field's bytes (at absolute `field_start`, ending by `end`) with its column's
/// validator.
fn check_field(c: &Column, field: &[u8], field_start: u64, end: u64) -> Option<ColumnFinding> {
    let mut s = 0;
    let mut e = field.len();
    while s < e && matches!(field[s], b'"' | b' ' | b'\r') {
        s += 1;
    }
    while e > s && matches!(field[e - 1], b'"' | b' ' | b'\r') {
        e -= 1;
    }
    if e == s {
        return None;
    }
    // Validators look for the value at the end of what they get, after a gap.
    let mut probe = Vec::with_capacity(e - s + 2);
    probe.push(b' ');
    probe.extend_from_slice(&field[s..e]);
    probe.push(b' ');
    let (vs, ve) = (c.validate)(&probe)?;
    let field_start = field_start + s as u64;
    Some(ColumnFinding {
        kind: c.kind,
        role: c.role,
        start: field_start + vs.saturating_sub(1) as u64,
        end: (field_start + ve.saturating_sub(1) as u64).min(end),
    })
}

/// [`BYTE_CLASS`]: a control byte (binary content); code or markup; a byte no header past the
/// first line holds (`Name: value`, brackets, an e-mail address).
const CONTROL: u8 = 1;
const CODE: u8 = 2;
const LATER: u8 = 4;

/// The classes of each byte, for [`CsvColumns::parse_header`].
static BYTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 0x20 {
        if c != b'\t' as usize {
            t[c] = CONTROL;
        }
        c += 1;
    }
    t[0x7f] = CONTROL;
    let code = b"={}<>";
    let mut i = 0;
    while i < code.len() {
        t[code[i] as usize] |= CODE | LATER;
        i += 1;
    }
    let later = b":[]@";
    let mut i = 0;
    while i < later.len() {
        t[later[i] as usize] |= LATER;
        i += 1;
    }
    t
};

/// Longest first line that opens with a bracket and is read as a title over an export
/// (`[export]`, `<report/>`, `{"report":"weekly"}`); a longer one is a JSON or XML document.
const MAX_TITLE: usize = 256;

/// Brackets (`{`, `[`, `<`) that `b` opens minus those it closes.
fn bracket_depth(b: &[u8]) -> i64 {
    b.iter()
        .map(|&c| match c {
            b'{' | b'[' | b'<' => 1,
            b'}' | b']' | b'>' => -1,
            _ => 0,
        })
        .sum()
}

/// Whether a stream whose first line starts with `held` then `rest` opens with JSON or XML
/// (`{`, `[` or `<`, after a UTF-8 byte order mark): no CSV then. False while undecided.
fn opens_markup(held: &[u8], rest: &[u8]) -> bool {
    let mut head = [0u8; 4];
    let a = held.len().min(4);
    head[..a].copy_from_slice(&held[..a]);
    let b = rest.len().min(4 - a);
    head[a..a + b].copy_from_slice(&rest[..b]);
    let head = &head[..a + b];
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    matches!(head.first(), Some(b'{' | b'[' | b'<'))
}

impl CsvColumns {
    pub(crate) fn new() -> CsvColumns {
        CsvColumns {
            phase: Phase::Header(Vec::new(), 0),
            delim: b',',
            columns: Vec::new(),
            patient_context: false,
            col: 0,
            in_quotes: false,
            field: Vec::new(),
            field_start: 0,
            field_too_long: false,
            line_start: 0,
            multipart: false,
            skip_line: false,
            skipped_len: 0,
            opened: None,
            waiting_boundary: false,
            in_part_headers: false,
            part_label: None,
            part_value: None,
            transposed: false,
            last_line: Vec::new(),
            fixed: None,
            pos: 0,
            row_label: None,
        }
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        let h = match &self.phase {
            Phase::Header(b, _) => b.capacity(),
            _ => 0,
        };
        h + self.field.capacity()
            + self.last_line.capacity()
            + self.fixed.as_ref().map_or(0, |f| f.capacity() * 8)
            + self.columns.capacity() * std::mem::size_of::<Option<Column>>()
    }

    /// Absolute normalised offset of a field whose verdict is still open, if any.
    pub(crate) fn pending_start(&self) -> Option<u64> {
        match self.phase {
            // Earlier lines were not a header: nothing in them waits for a column verdict.
            Phase::Header(..) if !self.skip_line && !self.waiting_boundary => Some(self.line_start),
            Phase::Rows if self.transposed => {
                (self.col == 1 && self.row_label.is_some() && !self.field_too_long)
                    .then_some(self.field_start)
            }
            Phase::Rows
                if self.columns.get(self.col).copied().flatten().is_some()
                    && !self.field_too_long =>
            {
                Some(self.field_start)
            }
            _ => None,
        }
    }

    pub(crate) fn active(&self) -> bool {
        !matches!(self.phase, Phase::Off)
    }

    /// Feeds normalised bytes starting at absolute offset `start`.
    pub(crate) fn push(&mut self, data: &[u8], start: u64, out: &mut Vec<ColumnFinding>) {
        let mut i = 0;
        while let Phase::Header(buf, lines) = &mut self.phase {
            if *lines == 0 && !self.skip_line && opens_markup(buf, &data[i..]) {
                // A first line that opens with `{`, `[` or `<` is no header: it is read past
                // without being kept (decided by its first byte). If it leaves a bracket open
                // it starts a JSON or XML document, and the search ends with it; if it closes
                // what it opened within `MAX_TITLE` bytes it is a title (`[export]`,
                // `<report/>`, one short JSON object) and the lines below it are still searched.
                self.opened = Some(bracket_depth(buf));
                buf.clear();
                self.skip_line = true;
            }
            match memchr::memchr(b'\n', &data[i..]) {
                None => {
                    if self.skip_line {
                        if let Some(d) = &mut self.opened {
                            if self.skipped_len + (data.len() - i) > MAX_TITLE {
                                // Too long for a title: a JSON or XML document.
                                self.phase = Phase::Off;
                                return;
                            }
                            *d += bracket_depth(&data[i..]);
                        }
                        self.skipped_len += data.len() - i;
                    } else {
                        buf.extend_from_slice(&data[i..]);
                        if buf.len() > MAX_HEADER {
                            // A long line (a file part's bytes, a log line) is no header: read
                            // past it.
                            buf.clear();
                            self.skip_line = true;
                            self.skipped_len = 0;
                        }
                    }
                    return;
                }
                Some(nl) => {
                    // A line within `data` is read in place; only one cut by a chunk boundary
                    // was gathered in `buf`.
                    let mut held = std::mem::take(buf);
                    let mut skipped = std::mem::replace(&mut self.skip_line, false);
                    if !skipped && held.len() + nl > MAX_HEADER {
                        // As long a line as one gathered across chunks (above): whatever the
                        // chunking, it is read past.
                        held.clear();
                        skipped = true;
                    }
                    let first = *lines == 0;
                    *lines += 1;
                    let exhausted = *lines >= MAX_HEADER_LINES;
                    let line_len = std::mem::take(&mut self.skipped_len) + nl;
                    let piece = &data[i..i + nl];
                    if let Some(d) = self.opened.take() {
                        if line_len > MAX_TITLE || d + bracket_depth(piece) != 0 {
                            // A JSON or XML document: no CSV in it.
                            self.phase = Phase::Off;
                            return;
                        }
                    }
                    if !skipped && !held.is_empty() {
                        held.extend_from_slice(piece);
                    }
                    let line: &[u8] = if skipped {
                        &[]
                    } else if held.is_empty() {
                        piece
                    } else {
                        &held
                    };
                    i += nl + 1;
                    let this_line = self.line_start;
                    self.line_start = start + i as u64;
                    self.field_start = self.line_start;
                    self.header_line(line, first, exhausted, skipped, this_line, out);
                    if let Phase::Header(buf, _) = &mut self.phase {
                        held.clear();
                        *buf = held;
                    }
                }
            }
        }
        if !matches!(self.phase, Phase::Rows) {
            return;
        }
        if self.fixed.is_some() {
            self.push_fixed(&data[i..], start + i as u64, out);
            return;
        }
        while i < data.len() {
            let b = data[i];
            let abs = start + i as u64;
            if b == b'"' {
                self.in_quotes = !self.in_quotes;
            } else if !self.in_quotes && (b == self.delim || b == b'\n') {
                self.end_field(abs, out);
                if b == b'\n' {
                    self.col = 0;
                } else {
                    self.col += 1;
                }
                self.field_start = abs + 1;
                i += 1;
                continue;
            }
            if self.field.len() < MAX_FIELD {
                self.field.push(b);
            } else {
                self.field_too_long = true;
            }
            i += 1;
        }
    }

    /// One whole line while the header is searched (empty if it was `skipped`: too long).
    fn header_line(
        &mut self,
        line: &[u8],
        first: bool,
        exhausted: bool,
        skipped: bool,
        this_line: u64,
        out: &mut Vec<ColumnFinding>,
    ) {
        if first && line.starts_with(b"--") {
            self.multipart = true;
        }
        let boundary = self.multipart && line.starts_with(b"--");
        if boundary {
            // A new part: its headers and first lines are searched again.
            if let Phase::Header(_, lines) = &mut self.phase {
                *lines = 1;
            }
            self.waiting_boundary = false;
            self.in_part_headers = true;
            self.part_label = None;
            self.part_value = None;
            return;
        }
        if skipped || self.waiting_boundary {
            self.part_value = None;
            return;
        }
        if self.multipart {
            self.part_line(line, this_line, out);
        }
        self.parse_header(line, first);
        self.last_line.clear();
        // Room for a usual line at once, rather than growing with each longer one.
        self.last_line.reserve(line.len().max(128));
        self.last_line.extend_from_slice(line);
        if exhausted && matches!(self.phase, Phase::Header(..)) {
            if self.multipart {
                self.waiting_boundary = true;
            } else {
                self.phase = Phase::Off;
            }
        }
    }

    /// Rows of a fixed-width report: fields by their byte offsets in the line.
    fn push_fixed(&mut self, data: &[u8], start: u64, out: &mut Vec<ColumnFinding>) {
        let starts = self.fixed.take().unwrap_or_default();
        for (i, &b) in data.iter().enumerate() {
            let abs = start + i as u64;
            if b == b'\n' {
                self.end_field(abs, out);
                self.col = 0;
                self.pos = 0;
                self.field_start = abs + 1;
                continue;
            }
            if starts.get(self.col + 1) == Some(&self.pos) {
                self.end_field(abs, out);
                self.col += 1;
                self.field_start = abs;
            }
            self.pos += 1;
            if self.field.len() < MAX_FIELD {
                self.field.push(b);
            } else {
                self.field_too_long = true;
            }
        }
        self.fixed = Some(starts);
    }

    /// Ends the stream: the last field ends at `end`.
    pub(crate) fn finish(&mut self, end: u64, out: &mut Vec<ColumnFinding>) {
        if matches!(self.phase, Phase::Rows) {
            self.end_field(end, out);
        }
        self.phase = Phase::Off;
    }

    fn end_field(&mut self, end: u64, out: &mut Vec<ColumnFinding>) {
        if self.transposed {
            if self.col == 0 {
                self.row_label = (!self.field_too_long)
                    .then(|| column_kind(&self.field))
                    .flatten();
                if is_patient_label(&self.field) {
                    self.patient_context = true;
                }
            } else if self.col == 1 && !self.field_too_long {
                if let Some(c) = self.row_label.take() {
                    out.extend(check_field(&c, &self.field, self.field_start, end));
                }
            }
        } else if !self.field_too_long {
            if let Some(Some(c)) = self.columns.get(self.col) {
                out.extend(check_field(c, &self.field, self.field_start, end));
            }
        }
        self.field.clear();
        self.field_too_long = false;
    }

    /// A multipart line while the header is searched. A part whose field name is a label
    /// (`name="Dob Date"`, `name="member_id"`) has its value checked like a column's field: the
    /// first line after the part's headers, whatever other headers (`Content-Type`,
    /// `Content-Transfer-Encoding`) stand between the name and the value.
    fn part_line(&mut self, line: &[u8], line_start: u64, out: &mut Vec<ColumnFinding>) {
        let l = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(c) = self.part_value.take() {
            if l.len() <= MAX_FIELD {
                out.extend(check_field(&c, l, line_start, line_start + l.len() as u64));
            }
        } else if self.in_part_headers {
            if l.is_empty() {
                self.in_part_headers = false;
                self.part_value = self.part_label.take();
            } else if l.len() > 20 && l[..20].eq_ignore_ascii_case(b"content-disposition:") {
                if let Some(name) = form_field_name(l) {
                    self.part_label = column_kind(name);
                    if is_patient_label(name) {
                        self.patient_context = true;
                    }
                }
            }
        }
    }

    /// Reads one line as a possible header: the phase becomes `Rows` when it is one, `Off` when
    /// the stream cannot be CSV, and stays `Header` to try the next line otherwise.
    /// A rule of dashes under the previous line (`person_id   subscriber_no` over
    /// `----------- -------------`, as sqlcmd and SQL*Plus print): the previous line names
    /// fixed-width columns that start where the rule's dash groups start.
    fn fixed_width_header(&mut self, rule: &[u8]) -> bool {
        let rule = rule.trim_ascii_end();
        if rule.len() < 3
            || rule[0] != b'-'
            || !rule.iter().all(|&c| c == b'-' || c == b' ')
            || !rule.windows(3).any(|w| w == b"---")
        {
            return false;
        }
        let starts: Vec<usize> = (0..rule.len())
            .filter(|&i| rule[i] == b'-' && (i == 0 || rule[i - 1] == b' '))
            .collect();
        let head = self
            .last_line
            .strip_suffix(b"\r")
            .unwrap_or(&self.last_line);
        // One group is an underlined heading (`Patient` over `-------`), not a report.
        if starts.len() < 2 || starts.len() > MAX_COLUMNS || head.trim_ascii().is_empty() {
            return false;
        }
        let names: Vec<&[u8]> = starts
            .iter()
            .enumerate()
            .map(|(k, &s)| {
                let e = starts
                    .get(k + 1)
                    .copied()
                    .unwrap_or(head.len())
                    .min(head.len());
                head.get(s.min(e)..e).unwrap_or_default().trim_ascii()
            })
            .collect();
        let columns: Vec<Option<Column>> = names.iter().map(|f| column_kind(f)).collect();
        if !columns.iter().any(Option::is_some) {
            return false;
        }
        self.patient_context = names.iter().any(|f| is_patient_label(f));
        self.columns = columns;
        self.fixed = Some(starts);
        self.col = 0;
        self.pos = 0;
        self.phase = Phase::Rows;
        true
    }

    fn parse_header(&mut self, line: &[u8], first: bool) {
        let line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if first && matches!(line.first(), Some(b'{' | b'[' | b'<')) {
            // JSON, XML or a bracketed title: no header (`push` reads past such a line).
            return;
        }
        // One pass over the line for the bytes that rule it out (a rule of dashes has none).
        let class = line.iter().fold(0, |k, &c| k | BYTE_CLASS[c as usize]);
        // Binary content (an image part of a multipart body) is no header, whatever letters it
        // happens to hold. Code and markup are no header, first line or not
        // (`SSN_RE = re.compile(r"...|...")` would otherwise name an `ssn` column split at the
        // regex's `|`).
        if class & (CONTROL | CODE) != 0 {
            return;
        }
        // Past the first line, a header is plain labels: not a `Name: value` line (MIME part
        // headers, a report's "Run date: ..."), no code or markup (`metric{kind="ssn",...}`), no
        // long numbers (HL7 segments, log lines).
        if !first && (line.is_empty() || class & LATER != 0) {
            return;
        }
        if self.fixed_width_header(line) {
            return;
        }
        if !first && line.windows(4).any(|w| w.iter().all(u8::is_ascii_digit)) {
            return;
        }
        // The delimiter is the most frequent of the usual ones; a header has at least one.
        let count = |d: u8| line.iter().filter(|&&c| c == d).count();
        // `~` and `^` are what some EHR exports (athenahealth, flat-file interfaces) use.
        let Some((delim, n)) = [b',', b';', b'\t', b'|', b'~', b'^']
            .iter()
            .map(|&d| (d, count(d)))
            .max_by_key(|&(_, n)| n)
        else {
            self.phase = Phase::Off;
            return;
        };
        // A one-column export (`patient_nm` over one name per line): the line is one label,
        // a single word, that names an identifier column.
        if n == 0 {
            let label = line.trim_ascii();
            let label = label
                .strip_prefix(b"\"")
                .and_then(|l| l.strip_suffix(b"\""))
                .unwrap_or(label);
            // The person alone (`Patient`) is a heading, not a column label.
            let word = !label.is_empty()
                && label
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
                && !["patient", "pt", "member", "paciente"]
                    .iter()
                    .any(|p| label.eq_ignore_ascii_case(p.as_bytes()));
            if let Some(c) = word.then(|| column_kind(label)).flatten() {
                self.delim = delim;
                self.columns = vec![Some(c)];
                self.patient_context = is_patient_label(label);
                self.phase = Phase::Rows;
            }
            return;
        }
        // A header is labels: no digits-only fields, no braces (JSON), no spaces-heavy prose.
        if line.first() == Some(&b'{') || line.first() == Some(&b'[') || line.contains(&b'<') {
            return;
        }
        let names: Vec<&[u8]> = line.split(|&c| c == delim).collect();
        if names.len() > MAX_COLUMNS
            || names.iter().any(|f| {
                // Padding around a label is psql's aligned output (` mrn | dob `); elsewhere
                // it is an indented line of code (`  MemberNumber varchar(16) NOT NULL,`).
                let t = f.trim_ascii();
                let padded = t.len() + 1 < f.len();
                t.iter().filter(|c| **c == b' ').count() > 3
                    || f.len() > 64
                    || (padded && delim != b'|')
            })
        {
            return;
        }
        // A transposed export (`Field,Value` then one `label,value` row per field): each row's
        // label says how to read its value.
        let word = |f: &[u8]| {
            f.trim_ascii()
                .trim_ascii_start()
                .iter()
                .filter(|c| c.is_ascii_alphabetic())
                .map(|c| c.to_ascii_lowercase())
                .collect::<Vec<u8>>()
        };
        if names.len() == 2
            && [&b"field"[..], b"key", b"attribute", b"item", b"label"]
                .contains(&&word(names[0])[..])
            && [&b"value"[..], b"val"].contains(&&word(names[1])[..])
        {
            self.delim = delim;
            self.columns = vec![None, None];
            self.transposed = true;
            self.phase = Phase::Rows;
            return;
        }
        let columns: Vec<Option<Column>> = names.iter().map(|f| column_kind(f)).collect();
        let is_header = columns.iter().any(Option::is_some);
        // A later line counts only as a header; the first line's patient labels count anyway.
        if !first && !is_header {
            return;
        }
        self.delim = delim;
        self.columns = columns;
        self.patient_context = names.iter().any(|f| is_patient_label(f));
        if is_header {
            self.phase = Phase::Rows;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`SHORTEST_FINDING`] rests on this: no label of fewer than two letters or digits names
    /// a column.
    #[test]
    fn no_label_shorter_than_two_characters_names_a_column() {
        assert!(column_kind(b"").is_none());
        for a in 0..=u8::MAX {
            assert!(column_kind(&[a]).is_none(), "{a}");
        }
        assert!(column_kind(b"PT").is_some(), "two characters can");
    }
}
