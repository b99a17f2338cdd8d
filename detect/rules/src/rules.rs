//! The detectors: bounded-width Hyperscan patterns, each paired with a validator.
//!
//! A pattern finds a candidate cheaply; its validator checks the structure Hyperscan cannot
//! (checksums, SSN area rules, date ranges, HL7 fields) and returns the span of the value.
//! Every pattern must have a bounded maximum width: the engine refuses to build otherwise,
//! because the hold-back window is derived from it.

use std::fmt;

use crate::validate as v;

/// The kinds of PHI the engine reports. Labels are stable (JSON, metrics, audit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// US Social Security number (area/group/serial rules).
    Ssn,
    /// Medicare Beneficiary Identifier.
    Mbi,
    /// Medical record number next to its keyword.
    Mrn,
    /// Health plan member / subscriber / beneficiary id next to its keyword.
    MemberId,
    /// Patient or billing account number next to its keyword.
    AccountNumber,
    /// Date of birth next to its keyword.
    Dob,
    /// Payment card number (Luhn, known issuer prefix).
    CreditCard,
    /// National Provider Identifier: PHI only together with patient data.
    Npi,
    /// DEA registration number: PHI only together with patient data.
    Dea,
    /// HL7 v2 `PID` segment with a patient identifier or name.
    Hl7Pid,
    /// FHIR `Patient` resource, or a reference to one.
    FhirPatient,
    /// E-mail address in patient context.
    PatientEmail,
    /// Phone number in patient context.
    PatientPhone,
    /// Patient name next to a patient keyword.
    PatientName,
}

impl Kind {
    /// Every kind, in label order.
    pub const ALL: [Kind; 14] = [
        Kind::Ssn,
        Kind::Mbi,
        Kind::Mrn,
        Kind::MemberId,
        Kind::AccountNumber,
        Kind::Dob,
        Kind::CreditCard,
        Kind::Npi,
        Kind::Dea,
        Kind::Hl7Pid,
        Kind::FhirPatient,
        Kind::PatientEmail,
        Kind::PatientPhone,
        Kind::PatientName,
    ];

    /// Stable snake_case label.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Ssn => "ssn",
            Kind::Mbi => "mbi",
            Kind::Mrn => "mrn",
            Kind::MemberId => "member_id",
            Kind::AccountNumber => "account_number",
            Kind::Dob => "dob",
            Kind::CreditCard => "credit_card",
            Kind::Npi => "npi",
            Kind::Dea => "dea",
            Kind::Hl7Pid => "hl7_pid",
            Kind::FhirPatient => "fhir_patient",
            Kind::PatientEmail => "patient_email",
            Kind::PatientPhone => "patient_phone",
            Kind::PatientName => "patient_name",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// How a finding counts towards the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Identifies a patient on its own.
    Strong,
    /// An identifier that is PHI only when the stream also identifies a patient or has
    /// patient context (NPI, DEA, a phone number or e-mail address).
    Contextual,
    /// Patient context: not reported, but turns contextual findings into PHI.
    Context,
    /// A column or field label (such as a CSV header `member_dob`): not reported, but makes
    /// later values of its kind count where they stand without a label.
    Key,
    /// A value that counts only after a [`Role::Key`] of the same kind earlier in the stream.
    Keyed,
}

/// A validator gets the matched bytes and returns the value's span within them, or `None`.
pub type Validator = fn(&[u8]) -> Option<(usize, usize)>;

/// One detector: what it finds, how that counts, its pattern and its validator.
pub struct Rule {
    /// The kind of PHI it finds.
    pub kind: Kind,
    /// How a finding counts towards the verdict.
    pub role: Role,
    /// Its Hyperscan pattern (or the shape/token scanner's equivalent).
    pub pattern: &'static str,
    /// Checks what the pattern cannot and returns the value's span.
    pub validate: Validator,
    /// Track the start of match in Hyperscan (exact start offsets). Patterns whose start is
    /// ambiguous over long gaps are too costly with it; their validators get the widest
    /// window that can hold the match and find the value from its end.
    pub som: bool,
    /// The match does not count when the byte before it satisfies this (a left boundary,
    /// checked here because a leading class in the pattern would cost Hyperscan its literal
    /// acceleration).
    pub not_after: Option<fn(u8) -> bool>,
    /// Bytes before Hyperscan's start of match that belong to the value (found by the
    /// validator); they count towards the hold-back window.
    pub lookbehind: usize,
    /// The Hyperscan pass (database) the detector runs in. Hyperscan's literal matcher slows
    /// down for everyone when a few detectors with short or weak literals share it; those run in
    /// pass 1, a second small database, so clean traffic goes through two fast passes instead
    /// of one slow one. Pass 2 holds the labelled phone number, the one contextual detector
    /// that ordinary logs keep busy; a scanner drops it once it can add nothing. Chosen by
    /// measurement (`engine::partition_search`); speed only, never what is found.
    pub pass: u8,
}

/// [`Rule::pass`] of detectors that Hyperscan does not run: whole tokens found by
/// `tokens.rs` (their pattern states what they match and sets the hold-back width).
pub const TOKENS: u8 = u8::MAX;

/// [`Rule::pass`] of detectors that Hyperscan does not run: digit groups with separators
/// found by `shapes.rs`, which knows them by their patterns (the constants below).
pub const SHAPES: u8 = u8::MAX - 1;

/// Whether Hyperscan runs detectors of this pass.
pub fn in_hyperscan(pass: u8) -> bool {
    pass != TOKENS && pass != SHAPES
}

// Building blocks. Hyperscan syntax (a PCRE subset): no lookaround, no backreferences.
// Left boundaries are written as a consumed class or start of data; validators trim them.
macro_rules! kw_gap {
    () => {
        // FHIR XML writes values as attributes: `<subscriberId value="...">`.
        concat!(
            // Salesforce custom fields end in `__c` (`Emr_Patient_Mrn__c`).
            r"(?:__c)?",
            r#"(?:[^0-9A-Za-z]{1,24}(?:(?i:value)\s{0,2}=\s{0,2}["']?)?|"#,
            kv_sibling!(),
            "|",
            mp_gap!(),
            ")"
        )
    };
}

/// A multipart/form-data field: the label is the part's `name="..."`, the value follows the
/// blank line that ends the part's headers. (Parts that carry more headers, such as a
/// `Content-Type` line per field, are not covered: the bounded repeat over a header line makes
/// the patterns too large for Hyperscan with start-of-match tracking.)
macro_rules! mp_gap {
    () => {
        r#""\r?\n\r?\n"#
    };
}

/// The label as a `key` and the value in a sibling field: OpenTelemetry attributes
/// (`{"key":"patient.mrn","value":{"stringValue":"..."}}`), AWS-style tags
/// (`{"Key":"mrn","Value":"..."}`), Spring validation errors (`"field":"mrn","rejectedValue":`).
macro_rules! kv_sibling {
    () => {
        r#""\s{0,2},\s{0,2}"(?i:value|rejectedValue)"\s{0,2}:\s{0,2}(?:\{\s{0,2}"(?i:stringValue|string_value)"\s{0,2}:\s{0,2})?""#
    };
}

/// Keyword gap that may also hold words ("SSN of the patient is 123...").
macro_rules! kw_gap_words {
    () => {
        r"[^0-9]{0,40}"
    };
}

macro_rules! lb_alpha {
    () => {
        r"(?:^|[^A-Za-z])"
    };
}

macro_rules! id_token {
    () => {
        r"[A-Za-z0-9][A-Za-z0-9\-]{3,23}(?:[^A-Za-z0-9\-]|$)"
    };
}

macro_rules! date {
    () => {
        concat!(
            r"(?:[0-9]{1,2}[/\-.][0-9]{1,2}[/\-.](?:[0-9]{4}|[0-9]{2})",
            r"|[0-9]{4}[/\-.][0-9]{1,2}[/\-.][0-9]{1,2}",
            r"|[0-9]{8}",
            r"|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-zA-Z]{0,6}\.?\s{1,2}[0-9]{1,2}(?:st|nd|rd|th)?,?\s{1,2}[0-9]{4}",
            r"|[0-9]{1,2}(?:st|nd|rd|th)?\s{1,2}(?:of\s)?(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-zA-Z]{0,6}\.?,?\s{1,2}[0-9]{4}",
            // 04-Mar-1961, 04/MAR/1961, 4.Mar.1961 (Oracle and lab-system style)
            r"|[0-9]{1,2}[\-/.](?i:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-zA-Z]{0,6}[\-/.][0-9]{4})",
            r"(?:[^0-9]|$)"
        )
    };
}

macro_rules! mbi_head {
    () => {
        r"[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9]"
    };
}

macro_rules! mbi_mid {
    () => {
        r"[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9]"
    };
}

macro_rules! mbi_tail {
    () => {
        r"[AC-HJKMNP-RT-Y]{2}[0-9]{2}"
    };
}

macro_rules! card_iin {
    () => {
        r"(?:4[0-9]{3}|5[1-5][0-9]{2}|2(?:2[2-9][0-9]|[3-6][0-9]{2}|7[01][0-9]|720)|6011|65[0-9]{2}|64[4-9][0-9]|35(?:2[89]|[3-8][0-9]))"
    };
}

/// An SSN with separators: `123-45-6789`, `123 45 6789`, `123.45.6789`.
pub const SSN_SEPARATED: &str =
    r"[0-9]{3}(?:-[0-9]{2}-|\x20[0-9]{2}\x20|\.[0-9]{2}\.)[0-9]{4}(?:[^0-9\-]|$)";

/// A dashed MBI: `1EG4-TE5-MK73`.
pub const MBI_DASHED: &str = concat!(
    mbi_head!(),
    "-",
    mbi_mid!(),
    "-",
    mbi_tail!(),
    r"(?:[^0-9A-Za-z]|$)"
);

/// A card number grouped 4-4-4-4 with dashes; the issuer prefix is the validator's.
pub const CARD_DASHED: &str = r"[0-9]{4}-[0-9]{4}-[0-9]{4}-[0-9]{4}(?:[^0-9A-Za-z\-]|$)";

/// A card number grouped 4-4-4-4 with spaces.
pub const CARD_SPACED: &str = r"[0-9]{4}\x20[0-9]{4}\x20[0-9]{4}\x20[0-9]{4}(?:[^0-9A-Za-z\-]|$)";

/// An American Express number grouped 4-6-5 with spaces or dashes.
pub const CARD_AMEX_GROUPED: &str =
    r"[0-9]{4}(?:\x20[0-9]{6}\x20|-[0-9]{6}-)[0-9]{5}(?:[^0-9A-Za-z\-]|$)";

/// A phone number with separators: `555-867-5309`, `555.867.5309`, `(555) 867-5309`.
pub const PHONE_SEPARATED: &str =
    r"(?:\([0-9]{3}\)\x20?|[0-9]{3}[\-.])[0-9]{3}[\-.][0-9]{4}(?:[^0-9]|$)";

macro_rules! patient_kw {
    () => {
        r"(?i:patient|pt|member|beneficiary|subscriber|guarantor|insured|enrollee|client)"
    };
}

macro_rules! name_value {
    () => {
        concat!(
            r"(?:[A-Z][a-z'\-]{1,20}(?: [A-Z]\.?)? [A-Z][A-Za-z'\-]{1,30}",
            r"|[A-Z][A-Z'\-]{1,20}(?: [A-Z]\.?)? [A-Z][A-Z'\-]{1,30}",
            r"|[A-Z][A-Za-z'\-]{1,30}, ?[A-Z][A-Za-z'\-]{1,20}",
            r"|[A-Z][A-Za-z'\-]{1,30}\^[A-Z][A-Za-z'\-]{1,20}",
            r"|[A-Z]\. [A-Z][A-Za-z'\-]{1,30})",
            r"(?:[^A-Za-z'\-]|$)"
        )
    };
}

/// The name part of a patient-name label: `name`, `full name`, `display_name`, `NAME_FULL`,
/// `NM` (Epic Clarity and Cerner column style).
macro_rules! name_label {
    () => {
        r"(?i:(?:full|legal|display|preferred)[\s_\-.]?(?:name|nm)|name(?:[\s_\-.]?(?:full|text|txt))?|nm)"
    };
}

/// A name standing after a label without punctuation ("PATIENT NAME DOE, JANE", "patient Doe,
/// Jane was seen"): only the forms that cannot be a heading, `Last, First` or `First M. Last`.
macro_rules! name_strict {
    () => {
        concat!(
            r"(?:[A-Z][A-Za-z'\-]{1,30}, ?[A-Z][A-Za-z'\-]{1,20}",
            r"|[A-Z][a-z'\-]{1,20} [A-Z]\. [A-Z][A-Za-z'\-]{1,30})",
            r"(?:[^A-Za-z'\-]|$)"
        )
    };
}

/// The built-in detectors.
pub fn builtin() -> Vec<Rule> {
    vec![
        // --- SSN ---------------------------------------------------------------------------
        Rule {
            kind: Kind::Ssn,
            role: Role::Strong,
            pattern: SSN_SEPARATED,
            validate: v::ssn,
            som: true,
            not_after: Some(v::alnum_or_dash),
            lookbehind: 0,
            pass: SHAPES,
        },
        Rule {
            kind: Kind::Ssn,
            role: Role::Strong,
            pattern: concat!(
                r"(?:Ssn|SSN|(?:^|[^A-Za-z])(?i:ssn|social[\s_\-+.]{0,2}sec(?:urity)?(?:[\s_\-+.]{0,2}(?:num(?:ber)?|nbr|no\.?|#))?|soc[\s_\-.]?sec(?:[\s_\-.]?(?:no|num|#))?|ss[\s_\-]?(?:no|num|#)))",
                kw_gap_words!(),
                r"[0-9]{9}(?:[^0-9]|$)"
            ),
            validate: v::ssn_after_label,
            som: true,
            not_after: None,
            lookbehind: 0,
            pass: 1,
        },
        // --- Medicare MBI --------------------------------------------------------------------
        Rule {
            kind: Kind::Mbi,
            role: Role::Strong,
            pattern: MBI_DASHED,
            validate: v::mbi,
            som: true,
            not_after: Some(v::alnum_or_dash),
            lookbehind: 0,
            pass: SHAPES,
        },
        Rule {
            kind: Kind::Mbi,
            role: Role::Strong,
            // Without dashes an MBI has no literal to anchor on; it is found next to its keyword.
            pattern: concat!(
                r"(?:MBI|HICN|(?i:mbi|medicare|hicn|beneficiary))",
                r"(?:[^0-9\r\n]{0,32}|",
                mp_gap!(),
                ")",
                mbi_head!(),
                mbi_mid!(),
                mbi_tail!(),
                r"(?:[^0-9A-Za-z]|$)"
            ),
            validate: v::mbi,
            som: true,
            not_after: None,
            lookbehind: 0,
            pass: 0,
        },
        Rule {
            kind: Kind::Mbi,
            role: Role::Strong,
            // An undashed MBI standing alone: eleven characters in the CMS positions (digits
            // where digits go, letters without S, L, O, I, B, Z where letters go) as a whole
            // token. Hex digests, UUIDs and base64 fail the positions or the token bounds.
            pattern: concat!(
                mbi_head!(),
                mbi_mid!(),
                mbi_tail!(),
                r"(?:[^0-9A-Za-z\-]|$)"
            ),
            validate: v::mbi,
            som: true,
            not_after: Some(v::alnum_or_dash),
            lookbehind: 0,
            pass: TOKENS,
        },
        // --- MRN / member id / account number next to their keywords -------------------------
        Rule {
            kind: Kind::Mrn,
            role: Role::Strong,
            pattern: concat!(
                r"(?:(?:MRN|(?i:mrn))(?:[\s_\-.]?(?i:id|no\.?|num(?:ber)?|nbr|code|#))?|(?i:medical[\s_\-.]?rec(?:ord)?(?:[\s_\-.]?(?:number|num|nbr|no\.?|#|id))?|mr[\s_\-.]?(?:number|num|no\.?|#)|med[\s_\-.]?rec(?:[\s_\-.]?(?:number|num|nbr|no\.?|#))?|chart[\s_\-.]?(?:number|num|no\.?|#|id)|patient[\s_\-.]?(?:id|identifier|number|num|no\.?|#)|unit[\s_\-.]?(?:number|no\.?)))",
                kw_gap!(),
                id_token!()
            ),
            validate: v::id_after_label,
            som: true,
            not_after: None,
            lookbehind: 0,
            pass: 0,
        },
        Rule {
            kind: Kind::MemberId,
            role: Role::Strong,
            pattern: concat!(
                r"(?i:member|subscriber|beneficiary|insured|enrollee|policy[\s_\-.]?holder|medicaid|medicare|health[\s_\-.]?plan|insurance|policy|group[\s_\-.]?member)",
                r"[\s_\-.]?(?i:id|identifier|number|num|nbr|no\.?|#)(?:[_\-.]?(?i:no|num|nbr|number))?",
                kw_gap!(),
                id_token!()
            ),
            validate: v::id_after_label,
            som: true,
            not_after: None,
            lookbehind: 0,
            pass: 0,
        },
        Rule {
            kind: Kind::AccountNumber,
            role: Role::Strong,
            pattern: concat!(
                r"(?i:(?:patient|billing|guarantor|hospital|encounter|visit)?[\s_\-.]?(?:account|acct|acc't)[\s_\-.]?(?:number|num|nbr|no\.?|#)|(?:patient|billing|guarantor|hospital|hsp|har|visit|encounter|enc)[\s_\-.]?(?:account|acct)(?:[\s_\-.]?id)?|fin[\s_\-.]?(?:number|nbr|num|no\.?|#))",
                kw_gap!(),
                id_token!()
            ),
            validate: v::id_after_label,
            som: true,
            not_after: None,
            lookbehind: 0,
            pass: 0,
        },
        // --- Date of birth -------------------------------------------------------------------
        Rule {
            kind: Kind::Dob,
            role: Role::Strong,
            pattern: concat!(
                r"(?:DOB|(?i:dob|d\.o\.b\.?|date[\s_\-]?of[\s_\-]?birth|birth[\s_\-]?date|birth[\s_\-]?dt|birth[\s_\-]?day|birthdate|born(?:\s(?:on|in))?|fecha[\s_\-]de[\s_\-]nacimiento))",
                // `DOB_DATE`, `DobDate`, `dob dt`: a label with a date suffix.
                r"(?:[\s_\-.]?(?i:date|dt))?(?:[\s_\-.]?(?i:tm|time))?",
                r#"(?:[^0-9A-Za-z\r\n]{1,24}(?:(?i:is|was|of|on)\s{1,2}|(?i:value)\s{0,2}=\s{0,2}["']?)?|"#,
                kv_sibling!(),
                "|",
                mp_gap!(),
                ")",
                // "Saturday, March 04, 1961".
                r"(?:(?i:mon|tues|wednes|thurs|fri|satur|sun)day,?\s{1,2})?",
                date!()
            ),
            validate: v::dob,
            som: true,
            not_after: None,
            lookbehind: 0,
            pass: 1,
        },
        // --- Payment cards -------------------------------------------------------------------
        Rule {
            kind: Kind::CreditCard,
            role: Role::Strong,
            // Grouped 4-4-4-4; the issuer prefix is checked by the validator so that the
            // pattern keeps its separators as literals.
            pattern: CARD_DASHED,
            validate: v::card,
            som: true,
            not_after: Some(v::alnum_dash_dot),
            lookbehind: 0,
            pass: SHAPES,
        },
        Rule {
            kind: Kind::CreditCard,
            role: Role::Strong,
            pattern: CARD_SPACED,
            validate: v::card,
            som: true,
            not_after: Some(v::alnum_dash_dot),
            lookbehind: 0,
            pass: SHAPES,
        },
        Rule {
            kind: Kind::CreditCard,
            role: Role::Strong,
            pattern: CARD_AMEX_GROUPED,
            validate: v::card,
            som: true,
            not_after: Some(v::alnum_dash_dot),
            lookbehind: 0,
            pass: SHAPES,
        },
        Rule {
            kind: Kind::CreditCard,
            role: Role::Strong,
            // A bare card number standing alone: 16 digits with a known issuer prefix (15 for
            // American Express) that pass Luhn, as a whole token.
            pattern: concat!(
                r"(?:",
                card_iin!(),
                r"[0-9]{12}|3[47][0-9]{13})(?:[^0-9A-Za-z\-]|$)"
            ),
            validate: v::card,
            som: true,
            not_after: Some(v::alnum_dash_dot),
            lookbehind: 0,
            pass: TOKENS,
        },
        Rule {
            kind: Kind::CreditCard,
            role: Role::Strong,
            // A 19-digit card number after a card keyword. 15- and 16-digit numbers are found
            // wherever they stand, keyword or not (the token detector above); 19 digits stand
            // alone too often as other ids (nanosecond times, snowflake ids). Short labels
            // (`cc`, `pan`) are left out: their hits cost the shared literal matcher (this rule
            // with them and with 15/16 digits cost the clean log 8 % of wall time).
            pattern: concat!(
                lb_alpha!(),
                r"(?i:card|cc(?:num|no)|credit|debit|visa|master|amex|american\sexpress|discover|payment)",
                r"[^0-9\r\n]{0,32}",
                card_iin!(),
                r"[0-9]{15}(?:[^0-9A-Za-z\-]|$)"
            ),
            validate: v::card,
            som: true,
            not_after: None,
            lookbehind: 0,
            pass: 0,
        },
        // --- Provider identifiers (contextual) ----------------------------------------------
        Rule {
            kind: Kind::Npi,
            role: Role::Contextual,
            pattern: concat!(
                lb_alpha!(),
                r"(?:NPI|(?i:npi|national[\s_\-]?provider[\s_\-]?(?:identifier|id|number|num|no)?|us-npi))",
                r"[^0-9\r\n]{0,24}[12][0-9]{9}(?:[^0-9]|$)"
            ),
            validate: v::npi,
            som: true,
            not_after: None,
            lookbehind: 0,
            pass: 0,
        },
        Rule {
            kind: Kind::Dea,
            role: Role::Contextual,
            pattern: r"(?:^|[^A-Za-z])(?i:dea)[^0-9A-Za-z\r\n]{0,16}(?:(?i:registration|reg|number|num|no|#)[^0-9A-Za-z\r\n]{0,4})?[ABCDEFGHJKLMPRSTUXabcdefghjklmprstux][A-Za-z9][0-9]{7}(?:[^0-9A-Za-z]|$)",
            validate: v::dea,
            som: true,
            not_after: None,
            lookbehind: 0,
            pass: 0,
        },
        // --- Record structures ---------------------------------------------------------------
        Rule {
            kind: Kind::Hl7Pid,
            role: Role::Strong,
            // PID-1 | PID-2 | PID-3 (patient identifier list), non-empty.
            pattern: r"(?:^|[\r\n\x0b\x1c])PID\|[^\r\n|]{0,16}\|[^\r\n|]{0,40}\|[A-Za-z0-9]{2}",
            validate: v::hl7_pid_field,
            som: true,
            not_after: None,
            lookbehind: 0,
            pass: 0,
        },
        Rule {
            kind: Kind::Hl7Pid,
            role: Role::Strong,
            // A PID segment with a name in XPN form (FAMILY^GIVEN) in its first fields.
            pattern: r"(?:^|[\r\n\x0b\x1c])PID\|[^\r\n]{0,60}\|[A-Z][A-Za-z'\-]{1,30}\^[A-Z]",
            validate: v::hl7_pid_name,
            // Found from its end (the last `PID|` in the window): start-of-match tracking
            // over the 60-byte gap costs more than half the speed on HL7 traffic.
            som: false,
            not_after: None,
            lookbehind: 0,
            pass: 0,
        },
        Rule {
            kind: Kind::FhirPatient,
            role: Role::Strong,
            pattern: r#""resourceType"\s{0,8}:\s{0,8}"Patient""#,
            validate: v::whole,
            som: true,
            not_after: None,
            lookbehind: 0,
            pass: 0,
        },
        Rule {
            kind: Kind::FhirPatient,
            role: Role::Strong,
            // A FHIR XML Patient: with its namespace, or as a Bundle entry's resource element.
            pattern: r#"<Patient(?:\s{1,8}xmlns\s{0,4}=\s{0,4}"http://hl7\.org/fhir"|>|\s{0,8}/?>|\s{1,8}id=)"#,
            validate: v::whole,
            som: true,
            not_after: None,
            lookbehind: 0,
            pass: 0,
        },
        Rule {
            kind: Kind::FhirPatient,
            role: Role::Strong,
            pattern: r#""reference"\s{0,8}:\s{0,8}"(?:[^"\r\n]{0,128}/)?Patient/[A-Za-z0-9\-.]{1,64}""#,
            validate: v::whole,
            som: true,
            not_after: None,
            lookbehind: 0,
            pass: 0,
        },
        Rule {
            kind: Kind::FhirPatient,
            role: Role::Strong,
            // The same reference in FHIR XML: `<reference value="Patient/123"/>`.
            pattern: r#"<reference\s{1,4}value="(?:[^"\r\n]{0,128}/)?Patient/[A-Za-z0-9\-.]{1,64}""#,
            validate: v::whole,
            som: true,
            not_after: None,
            lookbehind: 0,
            pass: 0,
        },
        // --- Contact details and names in patient context ----------------------------------
        Rule {
            kind: Kind::PatientEmail,
            role: Role::Contextual,
            // Anchored on '@': the local part is found by the validator in the bytes before it
            // (a repeat in front of the literal would cost Hyperscan its acceleration).
            // The address may end a sentence: a '.' after it is a boundary.
            pattern: r"[A-Za-z0-9._%+\-]@[A-Za-z0-9.\-]{1,48}\.[A-Za-z]{2,12}(?:[^A-Za-z0-9\-]|$)",
            validate: v::email,
            som: true,
            not_after: None,
            lookbehind: 48,
            pass: 0,
        },
        Rule {
            kind: Kind::PatientPhone,
            role: Role::Contextual,
            pattern: concat!(
                lb_alpha!(),
                r"(?i:phone|tel|telephone|mobile|cell|callback|home[\s_\-.]?phone|work[\s_\-.]?phone|contact[\s_\-.]?(?:number|no\.?|phone)|phone[\s_\-.]?(?:number|no\.?))",
                r"(?:[\s_\-.]{0,2}(?i:number|no|nbr|#))?",
                r#"(?:[^0-9A-Za-z\r\n]{0,16}(?:(?i:value)[^0-9A-Za-z\r\n]{0,8})?|"#,
                mp_gap!(),
                ")",
                r"(?:\+?1[\s\-.]?)?(?:\([0-9]{3}\)\s?|[0-9]{3}[\s\-.]?)[0-9]{3}[\s\-.]?[0-9]{4}(?:[^0-9]|$)"
            ),
            validate: v::phone,
            som: true,
            not_after: None,
            lookbehind: 0,
            // Alone in its pass: a log with a phone number on every line keeps it busy, and a
            // scanner stops running a pass whose detectors can add nothing more to its report
            // (once this kind is listed, or the contextual findings are full).
            pass: 2,
        },
        Rule {
            kind: Kind::PatientName,
            role: Role::Strong,
            pattern: concat!(
                lb_alpha!(),
                patient_kw!(),
                r"(?:[\s_\-.]?",
                name_label!(),
                ")?",
                r#"(?:["']\s{0,4}:\s{0,4}["']|\]?\s{0,4}[:=]\s{0,4}["']?|\s{0,2}\|\s{0,2}|\s{1,2}-\s{1,2}|"#,
                mp_gap!(),
                ")",
                name_value!()
            ),
            validate: v::name,
            som: true,
            not_after: None,
            lookbehind: 0,
            pass: 1,
        },
        Rule {
            kind: Kind::PatientName,
            role: Role::Strong,
            // "PATIENT NAME DOE, JANE", "patient Doe, Jane was seen": no punctuation after the
            // label, so only the name forms that a heading cannot take.
            pattern: concat!(
                lb_alpha!(),
                patient_kw!(),
                r"(?:[\s_\-.]?",
                name_label!(),
                r")?\s{1,2}",
                name_strict!()
            ),
            validate: v::name_tail,
            som: true,
            not_after: None,
            lookbehind: 0,
            pass: 1,
        },
        Rule {
            kind: Kind::PatientName,
            role: Role::Strong,
            // `PAT_NAME`, `PatName`, `pat_nm`, `PATIENTNM`: the abbreviations of Epic Clarity
            // and Cerner columns, each written out as a literal with its name part. A bare `pat`
            // or `nm` in the shared patterns matched every `path` of a log and cost the clean log
            // 5 to 60 % (callgrind instruction counts); these literals cost 1 %.
            pattern: concat!(
                r"(?i:patname|pat_name|pat\x20name|pat\.name|pat-name|patnm|pat_nm|patientnm|patient_nm|ptnm|pt_nm)",
                r"(?:[_\x20.\-]?(?i:full))?",
                r#"(?:["']\s{0,4}:\s{0,4}["']|\]?\s{0,4}[:=]\s{0,4}["']?|\s{0,2}\|\s{0,2}|"#,
                mp_gap!(),
                ")",
                name_value!()
            ),
            validate: v::name,
            som: true,
            not_after: Some(v::is_alpha),
            lookbehind: 0,
            pass: 0,
        },
        Rule {
            kind: Kind::PatientName,
            role: Role::Strong,
            // "Name of patient: DOE, JANE".
            pattern: concat!(
                r"(?i:name\x20of\x20(?:the\x20)?(?:patient|member|subscriber|insured))",
                r#"(?:\s{0,4}[:=\-]\s{0,4}["']?|\s{1,2})"#,
                name_value!()
            ),
            validate: v::name,
            som: true,
            not_after: None,
            lookbehind: 0,
            pass: 0,
        },
        Rule {
            kind: Kind::PatientName,
            role: Role::Contextual,
            // A "name" field: a patient's when the stream has patient context.
            pattern: concat!(
                r#"(?:"(?i:name|full_?name|display(?:_?name)?|patient_?name)"\s{0,4}:\s{0,4}"|<display\s{1,4}value=")"#,
                name_value!()
            ),
            validate: v::name,
            som: true,
            not_after: None,
            lookbehind: 0,
            pass: 0,
        },
        Rule {
            kind: Kind::PatientName,
            role: Role::Context,
            pattern: concat!(
                lb_alpha!(),
                patient_kw!(),
                r"(?:'[sS])?[\s_\-.]?(?i:name|display|first[\s_\-.]?name|last[\s_\-.]?name|given|family|address|phone|email|e[\s\-]?mail|contact|info|details|record|demographics|telecom|home|mobile|cell)",
                r"[A-Za-z_\-.]{0,16}",
                // A field label with its value, not a phrase in prose or a form's question.
                // Ruby hashes write `"patient_email"=>`; Prometheus labels `field="...",value=`;
                // FactoryBot and other Ruby DSLs `pt_email { '...' }`; Java builders and setters
                // `.patientHomePhone("...")`; `Patient home #: ...`.
                r#"(?:"\s{0,4}:|'\s{0,4}:|\s{0,4}[:=]|\]=|"\s{0,2}=>|",(?i:value)=|"\r?\n\r?\n|\x20\{\x20?['"]|\(["']|\x20?#:)"#
            ),
            validate: v::whole,
            som: true,
            not_after: None,
            lookbehind: 0,
            pass: 0,
        },
        Rule {
            kind: Kind::PatientName,
            role: Role::Context,
            // `PAT_EMAIL`, `PatPhone`, `pat addr`: patient context under the abbreviated label,
            // written out as literals for the same reason as `PAT_NAME` above.
            pattern: concat!(
                r"(?i:patemail|pat_email|pat\x20email|patphone|pat_phone|pathomephone|pat_home_phone)",
                r"(?i:_?(?:address|addr|number|num|no|home|cell|mobile|primary))?",
                r#"(?:"\s{0,4}:|'\s{0,4}:|\s{0,4}[:=]|\]=|"?[,;\t|]|"\r?\n\r?\n)"#
            ),
            validate: v::whole,
            som: true,
            not_after: Some(v::is_alpha),
            lookbehind: 0,
            pass: 0,
        },
        Rule {
            kind: Kind::PatientName,
            role: Role::Context,
            pattern: r#"(?i:"patient"|'patient')\s{0,4}(?::|=>)\s{0,4}[\{\[]"#,
            validate: v::whole,
            som: true,
            not_after: None,
            lookbehind: 0,
            pass: 0,
        },
        Rule {
            kind: Kind::PatientName,
            role: Role::Context,
            // A column header such as `patient_phone,` or `"memberEmail";`: joined words only,
            // so prose ("Patient name, ...") is not taken for a header.
            pattern: concat!(
                patient_kw!(),
                r"[_\-]?(?i:name|display_?name|first_?name|last_?name|full_?name|phone|email|e-mail|address|dob|birth_?date|contact)[A-Za-z_\-]{0,16}",
                r#""?[,;\t|]"#
            ),
            validate: v::whole,
            som: true,
            not_after: Some(v::slash),
            lookbehind: 0,
            pass: 0,
        },
        Rule {
            kind: Kind::PatientPhone,
            role: Role::Contextual,
            // A phone number with separators and no label (a CSV column, a list).
            pattern: PHONE_SEPARATED,
            validate: v::phone,
            som: true,
            not_after: Some(v::alnum_dash_dot),
            lookbehind: 0,
            pass: SHAPES,
        },
        Rule {
            kind: Kind::Dob,
            role: Role::Key,
            // A date-of-birth column label, also inside compound names (`memberdob`,
            // `PatientDob`): later dates count as dates of birth.
            // Header form: the label is followed by another label on the same line, or ends it.
            // A label after a space or '[' is an item of a JSON list (`"kinds": [..., "dob"]`),
            // not a header.
            pattern: r#""?(?i:dob(?:[\s_\-]?(?:date|dt))?|d\.o\.b|birth[\s_\-]?date|date[\s_\-]?of[\s_\-]?birth|birth[\s_\-]?day)"?[,;\t|]"?[A-Za-z_]"#,
            validate: v::whole,
            som: true,
            not_after: Some(v::space_or_bracket),
            lookbehind: 0,
            pass: 0,
        },
        Rule {
            kind: Kind::Dob,
            role: Role::Key,
            // The label that ends a header line. After a '.' it is a path in a list item
            // (`"expression": ["Patient.birthDate"]` in FHIR), not a column.
            pattern: r#""?(?i:dob(?:[\s_\-]?(?:date|dt))?|d\.o\.b|birth[\s_\-]?date|date[\s_\-]?of[\s_\-]?birth|birth[\s_\-]?day)"?\r?\n"#,
            validate: v::whole,
            som: true,
            not_after: Some(v::space_bracket_or_dot),
            lookbehind: 0,
            pass: 0,
        },
        Rule {
            kind: Kind::Dob,
            role: Role::Keyed,
            pattern: concat!(
                // Each form with one separator throughout, so that Hyperscan anchors on it.
                r"(?:[0-9]{1,2}/[0-9]{1,2}/(?:[0-9]{4}|[0-9]{2})|[0-9]{4}/[0-9]{1,2}/[0-9]{1,2}",
                r"|[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{4}|[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{1,2}-[0-9]{1,2}-[0-9]{4}",
                r"|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-zA-Z]{0,6}\.?\x20[0-9]{1,2},?\x20[0-9]{4}",
                r"|[0-9]{1,2}-(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-zA-Z]{0,6}-[0-9]{4})",
                r"(?:[^0-9T:]|$)"
            ),
            validate: v::dob,
            som: true,
            not_after: Some(v::alnum_dash_dot),
            lookbehind: 0,
            pass: 0,
        },
        Rule {
            kind: Kind::PatientEmail,
            role: Role::Context,
            // "patient email address jane@...", "Pt's e-mail: ...": a patient's address follows.
            pattern: concat!(
                patient_kw!(),
                r"(?:'[sS])?[\s_\-.]{0,2}(?:(?i:contact|primary|home|personal)[\s_\-.]{0,2})?(?i:e[\s\-_]?mail)(?:[\s_\-.]{0,2}(?i:address|addr))?(?:\s(?i:is))?",
                r#"(?:\]?["']?[\s:=\->]{1,4}["']?|",(?i:value)="|"#,
                mp_gap!(),
                r")[A-Za-z0-9]"
            ),
            validate: v::whole,
            som: true,
            not_after: Some(v::is_alpha),
            lookbehind: 0,
            pass: 0,
        },
        Rule {
            kind: Kind::PatientPhone,
            role: Role::Strong,
            // "patient phone (415) ...", "pt cell: ...", `"PatientHomePhone": "+1 ..."`,
            // `patient.cell=...`: a number under a patient label identifies the patient.
            pattern: concat!(
                patient_kw!(),
                r"(?:'[sS])?[\s_\-.]{0,2}(?:(?i:home|mobile|cell|work|contact|callback|primary)[\s_\-.]{0,2})?",
                r"(?i:phone|cell|mobile|telephone|tel|callback)(?:[\s_\-.]{0,2}(?i:number|no|nbr|#))?(?:\s(?i:is))?",
                // A '+' of "+1" reads as a space in form-decoded text.
                r#"(?:\]?["']?[\s:=/]{1,3}["']?\s?|"#,
                mp_gap!(),
                ")",
                r"(?:\+?1[\s\-.]?)?(?:\([0-9]{3}\)\s?|[0-9]{3}[\s\-.]?)[0-9]{3}[\s\-.]?[0-9]{4}(?:[^0-9]|$)"
            ),
            validate: v::phone,
            som: true,
            not_after: Some(v::is_alpha),
            lookbehind: 0,
            pass: 0,
        },
    ]
}
