//! Detector behaviour on real Hyperscan: label spellings, value formats and envelopes met in
//! other systems' traffic (valid cases), and the look-alikes that must stay clean (invalid
//! cases). All values are synthetic.

use phimesh_detect::{Engine, Kind, Report, StreamOptions, Verdict};

fn engine() -> &'static Engine {
    static E: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    E.get_or_init(|| Engine::new().expect("engine builds"))
}

fn scan(input: &str) -> Report {
    let mut s = engine().scanner(StreamOptions::default()).unwrap();
    s.feed(input.as_bytes()).unwrap();
    s.finish().unwrap()
}

/// Each input is PHI and reports `kind`.
fn assert_found(kind: Kind, inputs: &[&str]) {
    for (i, input) in inputs.iter().enumerate() {
        let r = scan(input);
        assert_eq!(r.verdict, Verdict::Phi, "{kind} #{i} should be PHI");
        assert!(
            r.kinds().contains(&kind),
            "{kind} #{i}: found {:?}",
            r.kinds()
        );
    }
}

fn assert_clean(inputs: &[&str]) {
    for (i, input) in inputs.iter().enumerate() {
        let r = scan(input);
        assert_eq!(
            r.verdict,
            Verdict::Clean,
            "clean #{i} found {:?}",
            r.kinds()
        );
    }
}

#[test]
fn mrn_label_spellings() {
    assert_found(
        Kind::Mrn,
        &[
            r#"{"MrnId": "H687188152"}"#,
            r#"{"mrnid": "82-262223"}"#,
            "mapped Patient{mrn-id='H243777615'}",
            "MRN_ID=34-858784&step=2",
            r#"{"patient.mrn_id": "9286767"}"#,
            "POST /v2/MrnId/53-438003 HTTP/1.1\r\n\r\n",
        ],
    );
    // A base64 salt that happens to contain "MRN", and masked numbers.
    assert_clean(&[
        r#"const SALT_981716 = "iinPddRfABbeRLoFQMRN+XmMGX18Sq84";"#,
        r#"{"mrn": "XXXX1234"}"#,
    ]);
}

#[test]
fn account_labels_without_number_word() {
    assert_found(
        Kind::AccountNumber,
        &[
            "Identifiers verified at discharge: Guarantor account: A14837415.",
            "GUARANTOR ACCOUNT:\tA10929462",
            r#"{"patient.billing_account_number": "1332-121264"}"#,
        ],
    );
    // A receipt shows only the last digits of an account.
    assert_clean(&[
        r#"{"receipt": {"orderNo": "ORD-482213", "acct #": "****6789", "total": "12.00"}}"#,
        "routing ok, acct #: ****4821, card XXXX-XXXX-XXXX-1111",
    ]);
}

#[test]
fn dates_of_birth_with_month_names() {
    assert_found(
        Kind::Dob,
        &[
            "- D.O.B. 19-Jun-1972",
            r#"{"PatientDob": "05-Nov-1968"}"#,
            "member.PATIENT_DOB=09-Sep-1953&step=3",
            "date of birth is March 4, 1961.",
            "\"memberdob\";\"zip\"\n\"04-MAR-1961\";\"13452\"\n",
        ],
    );
    assert_clean(&[
        // A JSON list of kind names is not a column header: later service dates stay dates.
        "{\n  \"kinds\": [\n    \"ssn\",\n    \"dob\"\n  ],\n  \"service.date\": \"2023-10-25\"\n}",
        // A FHIRPath in an OperationOutcome is not a column label either.
        "{\n  \"expression\": [\n    \"Patient.birthDate\"\n  ],\n  \"expirationDate\": \"2027-03-31\"\n}",
        // An invalid calendar date after the label.
        "DOB: 31-Feb-19x1",
    ]);
}

#[test]
fn patient_email_phrasings() {
    assert_found(
        Kind::PatientEmail,
        &[
            "PATIENT'S E-MAIL ADDRESS IS leocadia.nightingale94@example.co",
            "patient email: hanalindqvist97@example.com.",
            "patient email address isadora_trevelyan45@inbox.example. Refill sent.",
            "form%5Bpatient%5D%5Bpatient.contact.email%5D=sebastien_lockhart6%40inbox.example&x=1",
            "mapped Patient{patient.email.address='dorothea17@webmail.example.org'}",
        ],
    );
    // A clinic's role mailbox is not a patient's address.
    assert_clean(&[
        "Patient questions: write to appointments@clinic.example.org.",
        // A Message-ID or a bounce address: ids a mail server made, not a person's address.
        "Patient record update\nMessage-ID: <1c688291-7dbc-4794-bc7b-f96f10ffb778@mail.example.org>\n",
        "patient notice; Return-Path: <8f3a9c0d11e24b7f9a6c5d4e3f2a1b0c@bounce.example.com>",
    ]);
}

#[test]
fn patient_phone_labels() {
    assert_found(
        Kind::PatientPhone,
        &[
            r#"{"patient.cell": "+1 753 356 8750"}"#,
            r#"{"PatientCell": "+1-704-621-9802"}"#,
            "java.lang.IllegalStateException: duplicate record for PATIENT CALLBACK NUMBER 445.968.5982",
            "form%5Bpatient%5D%5BPatientHomePhone%5D=%2B1%20220%20954%206857&consent=on",
            "claims_rejected_total{patient_cell=\"(415) 555-2671\"} 3",
            "POST /v2/patientcell/459.554.5240 HTTP/1.1\r\n\r\n",
            "    patientmobile: \"+1 472 913 1343\"\n",
        ],
    );
    assert_clean(&[
        // Too few digits for a phone number.
        "patient phone: 555-0100",
        // A clinic's number with no patient label.
        "Patients can book by calling the clinic at (415) 555-2671.",
    ]);
}

#[test]
fn patient_phone_after_plus_decoding() {
    // `phimesh scan` and form bodies read '+' as a space: "+1-704-..." becomes " 1-704-...".
    let opts = StreamOptions {
        plus_as_space: true,
        ..StreamOptions::default()
    };
    for input in [
        r#"{"PatientCell": "+1-704-621-9802"}"#,
        "claims_rejected_total{patientcell=\"+1-466-711-2759\"} 38",
        "    patientmobile: \"+1 472 913 1343\"\n",
    ] {
        let mut s = engine().scanner(opts).unwrap();
        s.feed(input.as_bytes()).unwrap();
        let r = s.finish().unwrap();
        assert!(r.kinds().contains(&Kind::PatientPhone), "{:?}", r.kinds());
    }
}

#[test]
fn patient_name_forms() {
    assert_found(
        Kind::PatientName,
        &[
            r#"{"patient.full.name": "Inglewood, Kasimir"}"#,
            r#"[{"PATIENT_LEGAL_NAME": "GRANTHAM, NATHANIEL"}]"#,
            "- PATIENT NAME ZABROWSKI, SEBASTIEN\n",
            "Identifiers verified: patient Harrowgate, Cosima was seen.",
            "Name of patient: NIGHTINGALE, FLORIAN. Identity confirmed.",
            "claims_rejected_total{patient_full_name=\"SANDOVAL, ZENOBIA\"} 29",
            "patients:\n    patient-full-name: \"TREVELYAN, THEODORA\"\n",
            "patient.legal.name=Florian%20A.%20Nightingale&x=1",
        ],
    );
    assert_clean(&[
        "Patient Name Verification Required before every procedure.",
        "PATIENT NAME: NOT AVAILABLE",
        "Patient Safety, Quality and Risk committee meets on Thursday.",
        "Name of patient: ____________",
    ]);
}

#[test]
fn multipart_field_names_label_their_values() {
    let part = |name: &str, value: &str| {
        format!(
            "------WebKitFormBoundaryX7\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n------WebKitFormBoundaryX7--\r\n"
        )
    };
    let cases = [
        (
            Kind::PatientName,
            part("patient.legal.name", "Florian A. Nightingale"),
        ),
        (Kind::Dob, part("dob", "03/14/1961")),
        (Kind::Mbi, part("medicare_mbi", "1EG4TE5MK73")),
        (
            Kind::PatientEmail,
            part("patient.contact.email", "jane.doe77@mail.test"),
        ),
        (Kind::Mrn, part("MRN_ID", "H687188152")),
    ];
    for (kind, input) in &cases {
        assert_found(*kind, &[input.as_str()]);
    }
    // A photo's field name is no label for the bytes after it.
    assert_clean(&[&part("avatar", "iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB")]);
}

/// An export's header below a first line that opens like JSON or XML (a bracketed title,
/// `[export]`, `<report/>`) still names its columns: a value far below it, out of reach of any
/// label, is found by its column.
#[test]
fn csv_header_below_a_first_line_that_opens_with_a_bracket() {
    let rows: String = (0..300).map(|i| format!("000000000,{}\n", i % 9)).collect();
    for title in [
        "[export]",
        "{\"report\":\"weekly\"}",
        "<report/>",
        "[1,2,3]",
        "<?xml version=\"1.0\"?>",
    ] {
        let doc = format!("{title}\npatient_ssn,qty\n{rows}123456789,3\n");
        assert_found(Kind::Ssn, &[doc.as_str()]);
    }
    // A first line that leaves its bracket open starts a JSON or XML document: no header in it
    // (`dates_of_birth_with_month_names` has pretty-printed JSON lists of labels).
    let doc = format!("[\npatient_ssn,qty\n{rows}123456789,3\n]\n");
    assert_clean(&[doc.as_str()]);
    // An element's start tag closes its own brackets: an export wrapped in one is read too.
    let doc = format!("<export>\npatient_ssn,qty\n{rows}123456789,3\n</export>\n");
    assert_found(Kind::Ssn, &[doc.as_str()]);
}

#[test]
fn csv_header_below_a_preamble_or_inside_multipart() {
    assert_found(
        Kind::Mrn,
        &[
            "Daily Census Report\nRun Date: 03/05/2024 06:00\n\nmrn,city\nMRN2557805,Springfield\n",
            "--b1\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload.csv\"\r\nContent-Type: text/csv\r\n\r\nmrnid|zip|visitreason\r\nH831578016|02139|follow-up\r\n--b1--\r\n",
        ],
    );
    // The CSV part comes after a large binary part.
    let mut big = String::from("--b3\r\nContent-Disposition: form-data; name=\"scan\"; filename=\"a.tif\"\r\nContent-Type: image/tiff\r\n\r\n");
    for i in 0..3000 {
        big.push_str(&format!("{i:x}\u{1}\u{2}II*\u{3}{}\n", "x".repeat(i % 200)));
        if i % 500 == 0 {
            big.push_str(&"y".repeat(9000));
        }
    }
    big.push_str("\r\n--b3\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.csv\"\r\nContent-Type: text/csv\r\n\r\n\"patient-mobile\"\t\"zip\"\r\n\"(415) 555-2671\"\t\"94110\"\r\n--b3--\r\n");
    assert_found(Kind::PatientPhone, &[big.as_str()]);
    assert_found(
        Kind::AccountNumber,
        &["--b2\r\nContent-Type: text/csv\r\n\r\n\u{feff}\"GUARANTOR_ACCOUNT_NUMBER\",\"ZIP\"\r\n\"A14837415\",\"30301\"\r\n--b2--\r\n"],
    );
    assert_clean(&[
        // Metric lines are not a header even when a label names a kind.
        "# TYPE x counter\nx{kind=\"ssn\",action=\"refused\"} 35\nhttp_requests_total{pod=\"api-1\"} 588951246\n",
        // A provider roster below a title.
        "Provider roster\n\nProvider Name,NPI,Office Phone\n\"Smith, Ada MD\",1234567893,(415) 555-2671\n",
    ]);
}

#[test]
fn fhir_xml_patient_reference() {
    let obs = "<Observation xmlns=\"http://hl7.org/fhir\">\n  <subject>\n    <reference value=\"Patient/pt-1\"/>\n    <display value=\"Avery Blake\"/>\n  </subject>\n</Observation>\n";
    assert_found(Kind::FhirPatient, &[obs]);
    assert_found(Kind::PatientName, &[obs]);
    assert_clean(&["<Practitioner>\n  <name>\n    <family value=\"Smith\"/>\n  </name>\n  <display value=\"Dr Ada Smith\"/>\n</Practitioner>\n"]);
}

#[test]
fn card_after_its_cc_label_but_not_inside_hex() {
    // 4539 5787 6362 1486: a synthetic Luhn-valid Visa number.
    assert_found(
        Kind::CreditCard,
        &[
            "cc: 4539578763621486",
            r#"{"cc_number":"4539578763621486"}"#,
            "ccnum=4539578763621486&exp=0929",
            "CC# 4539578763621486",
            "card 4539578763621486",
        ],
    );
    // 19-digit numbers count after a card keyword only.
    assert_found(
        Kind::CreditCard,
        &[
            "payment card 4838073630136228140",
            r#"{ ccNumber: "4150415246592464405" }"#,
        ],
    );
    // "cc" inside a hex trace id that runs on into the digits of a valid number, and a
    // 19-digit id with no card keyword.
    assert_clean(&[
        "trace=03cc4539578763621486 status=200",
        r#"{"event_id": "4838073630136228140"}"#,
    ]);
}

#[test]
fn label_suffixes_of_reporting_exports() {
    assert_found(
        Kind::MemberId,
        &[
            r#"{"member_id_no": "M3776366030"}"#,
            "SUBSCRIBER_ID_NUM=W123456789",
        ],
    );
    assert_found(
        Kind::Dob,
        &[r#"{"BIRTH_DT": "06/20/1973"}"#, "birth_dt=1973-06-20"],
    );
    assert_found(
        Kind::PatientEmail,
        &[r#"{"patient_e_mail": "rwhit784@mail.example"}"#],
    );
    // A member id number label without a value, and a birth date field that is a format.
    assert_clean(&[
        r#"{"member_id_no": null}"#,
        r#"{"BIRTH_DT_FORMAT": "MM/DD/YYYY"}"#,
    ]);
}

#[test]
fn epic_and_cerner_abbreviated_labels() {
    assert_found(
        Kind::PatientName,
        &[
            r#"{"PatName": "Rosalind Achterberg"}"#,
            "PAT_NM=HALVORSEN,BIRGIT&dept=4",
            r#"patient_display_name: "Okafor, Chidi""#,
            r#"{"PATIENT_NAME_FULL": "Marisol Q. Ybarra"}"#,
            "TEST_PATIENTNM=VANTERPOOL,EDWINA",
        ],
    );
    assert_found(
        Kind::AccountNumber,
        &[
            "FIN_NBR: 44817203",
            r#"{"HspAccountId": "A77182634"}"#,
            "HSP_ACCOUNT_ID=3391827710",
        ],
    );
    assert_found(
        Kind::Dob,
        &[
            "GET /search?DOB_DATE=03/14/1962 HTTP/1.1",
            r#"{"DobDate": "1971-08-02"}"#,
        ],
    );
    // An e-mail address counts under an abbreviated patient label.
    assert_found(
        Kind::PatientEmail,
        &[
            r#"{"PAT_EMAIL": "r.achterberg@example.org"}"#,
            "Pat Email: mk.halvorsen@example.net",
            // A Rails params hash and a Prometheus label pair.
            r#"Parameters: {"patient"=>{"patient_email"=>"e.halvorsen@example.com"}}"#,
            r#"validation_errors_total{field="patient_primary_email",value="dz67@example.com"} 9"#,
        ],
    );
    assert_found(
        Kind::PatientPhone,
        &[
            "WARNING rejected submission {'patHomePhone': '(213) 348-1882'}",
            r#"failures_total{pat_home_phone="+1 (343) 581-0119"} 1"#,
        ],
    );
    // `pat` inside paths and words, a URL segment that looks like a column, and an account id
    // without a patient or hospital label stay clean.
    assert_clean(&[
        r#"{"path":"/compat/pattern/update","status":200,"user":"Jane Smith"}"#,
        r#"{"url":"http://example.org/fhir/SearchParameter/pat-birthdate","contact":"ops@example.org"}"#,
        r#"{"accountId": "123456789012", "region": "us-east-1"}"#,
        r#"{"patch_name": "Fix Login", "owner": "ops@example.org"}"#,
    ]);
}

#[test]
fn epic_and_cerner_export_columns() {
    assert_found(
        Kind::Mrn,
        &["PAT_ID,VISIT_TYPE,ZIP\nZ448120,OFFICE,02139\n"],
    );
    assert_found(
        Kind::AccountNumber,
        &[
            "PERSON_ID|FIN_NBR|ZIPCODE\nZ771201|77120938155|02139\n",
            "HSP_ACCOUNT_ID,ADMIT_TYPE\n7712093815,ELECTIVE\n",
        ],
    );
    assert_found(
        Kind::MemberId,
        &[
            "ROW,MEM_NUMBER,ZIP\n1,LRQ448120771,02139\n",
            "SUBS_MEMBER_NBR;PLAN\nXK27120938-01;GOLD\n",
        ],
    );
    // An e-mail column is a patient's under Clarity's `PAT_` columns.
    assert_found(
        Kind::PatientEmail,
        &["PAT_NAME_SUFFIX,EMAIL_ADDRESS,ZIP\nJR,jq.halvorsen@example.net,02139\n"],
    );
    // `path` and `patch` columns are not patient columns; a regex constant whose alternatives
    // are split at `|` is no CSV header naming an `ssn` column.
    assert_clean(&[
        "SSN_RE = re.compile(r\"^(?!000|666|9\\d\\d)\\d{3}-\\d{2}-\\d{4}$\")\nDEFAULT_TTL = 213474728\n",
        "PATH,EMAIL_ADDRESS,STATUS\n/api/v1/orders,ops@example.org,200\n",
        "PATCH_ID,OWNER_EMAIL\n4471,release@example.org\n",
    ]);
}

/// The values of labelled multipart fields count when other part headers (`Content-Type`,
/// `Content-Transfer-Encoding`, as Java and Go clients write them) stand between the field name
/// and the value, also after a large binary part.
#[test]
fn multipart_fields_with_part_headers_between_name_and_value() {
    let part = |name: &str, value: &str| {
        format!(
            "--xYz19\r\nContent-Disposition: form-data; name=\"{name}\"\r\nContent-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{value}\r\n"
        )
    };
    let body = |parts: &[String]| format!("{}--xYz19--\r\n", parts.concat());
    let mut image = String::from(
        "--xYz19\r\nContent-Disposition: form-data; name=\"scan\"; filename=\"s.tif\"\r\nContent-Type: image/tiff\r\n\r\nII*\u{1}",
    );
    for i in 0..400 {
        // Binary-looking lines, some with letters a column name could be read from.
        image.push_str(&format!("\u{2}\u{7}cell tel {i}\u{1b}\n"));
    }
    image.push_str("\r\n");
    let cases: [(Kind, String); 5] = [
        (Kind::Dob, body(&[part("Birth Dt", "19311027")])),
        (
            Kind::MemberId,
            body(&[part("Plan Subscriber Id", "M3689883483")]),
        ),
        (
            Kind::AccountNumber,
            body(&[part("Billing Acct No", "87366051599")]),
        ),
        (
            Kind::PatientPhone,
            body(&[part("pat_home_phone", "+1 (899) 276-7867")]),
        ),
        (
            Kind::PatientPhone,
            body(&[image.clone(), part("patHomePhone", "(579) 846-2451")]),
        ),
    ];
    for (kind, input) in &cases {
        assert_found(*kind, &[input.as_str()]);
    }
    // A clinic's number in a plain field, and a `path` field, are no patient's.
    assert_clean(&[
        &body(&[part("clinic_phone", "(415) 555-0100")]),
        &body(&[part("path_phone", "(415) 555-0100")]),
        &body(&[image, part("notes", "follow-up in 2 weeks")]),
    ]);
}

#[test]
fn exports_with_other_delimiters_aligned_or_transposed() {
    assert_found(
        Kind::MemberId,
        &[
            "member_id~birth_year~zip\nXK2712093801~1961~02139\n",
            "primary ins member id^plan\nXK2712093801^GOLD\n",
        ],
    );
    // psql's aligned output: padded labels, a rule line, padded values.
    assert_found(
        Kind::Mrn,
        &[" mrn        | visit_type \n------------+------------\n H831578016 | OFFICE\n(1 row)\n"],
    );
    // A transposed export: one `label,value` row per field.
    assert_found(
        Kind::Dob,
        &["Field,Value\nvisit type,office\nbirth date,03/14/1961\n"],
    );
    assert_clean(&[
        // An indented table definition is code, not a header.
        "CREATE TABLE Members (\n  MemberNumber varchar(16) NOT NULL,\n  Birthdate date NOT NULL\n);\n",
        // A transposed row whose label names nothing.
        "Field,Value\nbuild,4471\nrelease date,03/14/1961\n",
    ]);
}

/// Spanish and French export columns and multipart field names.
#[test]
fn spanish_and_french_export_columns() {
    assert_found(
        Kind::Dob,
        &["numero_afiliado;fecha_nacimiento\nQX88120;14/03/1961\n"],
    );
    assert_found(
        Kind::Mrn,
        &["numero_expediente,visita\nH83157801,consulta\n"],
    );
    assert_found(
        Kind::PatientEmail,
        &["nom_patient|courriel|ville\nDupont, Marie|m.dupont@example.fr|Lyon\n"],
    );
    assert_found(
        Kind::PatientPhone,
        &["--b9\r\nContent-Disposition: form-data; name=\"telefono_paciente\"\r\n\r\n(415) 555-2671\r\n--b9--\r\n"],
    );
    // A nominal amount column is no name.
    assert_clean(&["nominal_amount,currency\n1200.50,EUR\n"]);
}

#[test]
fn card_numbers_and_mbis_standing_alone() {
    // Synthetic values: 4539578763621486 (Visa), 378282246310005 (American Express),
    // 2223003122003222 (Mastercard 2-series), 1EG4TE5MK73 (the CMS example MBI format).
    assert_found(
        Kind::CreditCard,
        &[
            r#"{"value":"4539578763621486"}"#,
            "ref=378282246310005&x=1",
            "2223003122003222\n",
            "lookup 4539578763621486.",
            // JCB (3528-3589), spaced and bare.
            "credit_card=3552 9546 4972 2588",
            "ref=3552954649722588&x=1",
            "4539578763621486",
        ],
    );
    assert_found(
        Kind::Mbi,
        &[
            r#"{"attrValue": "1EG4TE5MK73"}"#,
            "identifier=1EG4TE5MK73 req=9f2c",
            "<Data Name=\"Field1\">1EG4TE5MK73</Data>",
            "name=\"val\"\r\n\r\n1EG4TE5MK73\r\n--",
            "1EG4TE5MK73",
        ],
    );
    assert_clean(&[
        // Luhn fails, no issuer prefix, or part of a longer number or id.
        r#"{"value":"4539578763621487"}"#,
        r#"{"ts_us":1700000000000000}"#,
        "id=94539578763621486",
        "id=x4539578763621486",
        "id=4539578763621486-2",
        "v1.4539578763621486",
        "build 4539578763621486abc",
        // Too few distinct digits to be an issued number.
        "5555555555554444",
        // Letters an MBI never has (S, L, O, I, B, Z), lower case, or inside a longer token.
        "ref=1SG4TE5MK73",
        "ref=1eg4te5mk73",
        "ref=X1EG4TE5MK73",
        "ref=1EG4TE5MK73b",
        "ref=1EG4TE5MK73-9",
        // Hex digests and UUIDs.
        "sha=9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
        "id=123e4567-e89b-12d3-a456-426614174000",
    ]);
}

#[test]
fn export_columns_of_more_systems() {
    assert_found(
        Kind::MemberId,
        &[
            "\u{feff}\"Reg Date\";\"Policy Member #\";\"Balance\"\n\"10/19/2024\";\"JR62539R\";\"499,93\"\n",
            "ROW_ID|SUBSCRIBERNO|LOAD_TS\n491975|ZNE163616579|2024-10-11T08:09:21Z\n",
            "Ctrl No|Insurance Id No\n596436|M16555356N\n",
        ],
    );
    assert_found(
        Kind::Mrn,
        &[
            "Reg Date;Unit Number;Balance\n08/22/2023;836-41-40;\"3165,22\"\n",
            "\"person_id\",\"mrn_code\"\n\"c8d40052\",\"534.345.903\"\n",
            "N°\tPatient Chart Id\n1\t23956811\n",
        ],
    );
    assert_found(Kind::AccountNumber, &["N°\tBillingacct\n1\t20686560\n"]);
    assert_found(
        Kind::Dob,
        &[
            "Id;Dob Date\n5389;22MAR1966\n",
            "   id   |      birth_date     |    Notes   \n--------+---------------------+-------------\n 478283 | 1995-07-19 00:00:00 | interpreter\n",
        ],
    );
    assert_found(
        Kind::PatientEmail,
        &["Reg Date;Pt Email;Balance\n04/03/2023;ahartigan@healthmail.example;\"2419,61\"\n"],
    );
    assert_found(
        Kind::PatientPhone,
        &[
            "Reg Date;Pt Home Phone;Balance\n05/18/2023;(782) 433-3651;\"7863,01\"\n",
            "N°\tPatient Contact No\n1\t975 948 1229\n",
        ],
    );
    assert_found(
        Kind::PatientName,
        &[
            "Reg Date;Patient;Notes\n03/31/2024;\"RUTHERFORD, BRIDGET\";self-pay\n",
            "N°\tPatient Nm\n1\t\"Mbeki, Filomena\"\n",
            "PERSON_ID|PATIENT_NAME_FULL|ZIPCODE\nZ958324|Ignatius Castellano|19104\n",
        ],
    );
    // Fixed-width reports: sqlcmd and SQL*Plus name the columns above a rule of dashes.
    assert_found(
        Kind::MemberId,
        &["person_id                            subscriber_no\n------------------------------------ -------------\n0fd08f6d-50b4-4d8d-8e20-aa5118ccca0e M67049568A   \n"],
    );
    assert_found(
        Kind::Dob,
        &["person_id                            birthdt   \r\n------------------------------------ ----------\r\nacfac9c7-ff26-4feb-aafb-7e0b24ea6123 1944-01-03\r\n\r\n(1 rows affected)\r\n"],
    );
    assert_clean(&[
        // The same reports without identifier columns, or amounts in an account column.
        "provider_name                  npi       \n------------------------------ ----------\nAda Smith                      1234567893\n",
        "Reg Date;Acct Balance;Notes\n03/31/2024;1066.56;self-pay\n",
        // An underlined heading is no report.
        "Patient\n-------\nPortal sign-up opens Monday. Call (415) 555-2671.\n",
        // `ptr` and `pts` are not the patient abbreviation.
        "ptr_email;pts_phone\nops@example.com;(415) 555-2671\n",
    ]);
}

#[test]
fn abbreviated_record_and_account_labels() {
    assert_found(
        Kind::Mrn,
        &[
            r#"value = {"patientMedRecNbr": "NG-167781"})"#,
            r#"{"mrnCode": "69214999"}"#,
            "paciente[mrn_code]=0000414283&commit=Guardar",
        ],
    );
    assert_found(
        Kind::AccountNumber,
        &[
            r#"value = {"encAcctId": "36603040"})"#,
            "enc_acct: 36603040",
        ],
    );
    // A code that is not a record number.
    assert_clean(&[r#"{"errorCode": "69214999", "mrnCodeSystem": "local"}"#]);
}

#[test]
fn one_column_exports() {
    let part = |body: &str| {
        format!(
            "--b9\r\nContent-Disposition: form-data; name=\"file\"; filename=\"roster.csv\"\r\nContent-Type: text/csv\r\n\r\n{body}\r\n--b9--\r\n"
        )
    };
    let name = part("patient_nm\n\"Grimaldi, Berenice\"\n");
    let phone = part("patient_contact_no\n523-371-7230\n");
    assert_found(
        Kind::PatientName,
        &[&name, "nom_patient\n\"Kettleborough, Clementine\"\n"],
    );
    assert_found(Kind::PatientPhone, &[&phone]);
    assert_found(Kind::Dob, &["datenaissance\n06-15-1945\n"]);
    // A heading word over prose, or a label that names no identifier.
    assert_clean(&[
        "Summary\nSeen on 06-15-2024 for follow-up.\n",
        "Patient\nPortal sign-up opens Monday. Call (415) 555-2671.\n",
        "status\n4054989\n",
    ]);
}

#[test]
fn metric_samples_next_to_an_identifier_label_are_counts() {
    assert_clean(&[
        "phi_redactions_total{kind=\"ssn\",route=\"/api/patients\"} 255410496\n",
        "# TYPE ssn_lookups_total counter\nssn_lookups_total 255410496\n",
        "phimesh_findings_total{direction=\"egress\",kind=\"ssn\"} 219099999 1700000000000\n",
        // phimesh's own metrics name every kind in a label.
        "phimesh_phi_detections_total{direction=\"egress\",kind=\"mrn\"} 255410496\n",
        "phimesh_phi_detections_total{direction=\"egress\",kind=\"member_id\"} 255410496\n",
        "phimesh_phi_detections_total{direction=\"egress\",kind=\"account_number\"} 25541\n",
        "mrn_lookups_total 255410496\n",
    ]);
    // A label's value is still an SSN.
    assert_found(
        Kind::Ssn,
        &[
            "ssn 219099999",
            "{\"ssn\": 219099999}",
            "patient_lookup{ssn=\"219099999\"} 1\n",
        ],
    );
    assert_found(Kind::Mrn, &["patient_lookup{mrn=\"H307224082\"} 1\n"]);
}

#[test]
fn organisations_and_team_mailboxes_are_not_patients() {
    // `client`, `member` and `subscriber` name patients in health care and customers, teams
    // and webhook endpoints elsewhere.
    assert_clean(&[
        r#"{"client_name": "Acme Corp", "email": "ops@acme.com"}"#,
        r#"{"member_name": "Platform Team", "email": "platform@example.com"}"#,
        r#"{"subscriber_email": "alerts@example.com", "topic": "orders"}"#,
        r#"{"client_name": "Northwind Labs", "contact_email": "billing@northwind.example"}"#,
        r#"{"patient_email": "patient-services@hospital.example"}"#,
    ]);
    assert_found(
        Kind::PatientEmail,
        &[r#"{"client_name": "Jane Doe", "client_email": "jane.doe@example.com"}"#],
    );
}

#[test]
fn ruby_dsl_blocks_label_their_values() {
    assert_found(
        Kind::PatientEmail,
        &["factory :patient do\n  pt_email { 'vlindqvist55@patientmail.example.org' }\nend\n"],
    );
    assert_clean(&["factory :user do\n  email { 'dev@example.org' }\n  client_id { 42 }\nend\n"]);
}

#[test]
fn java_builders_and_hash_labels_give_patient_context() {
    assert_found(
        Kind::PatientPhone,
        &[
            "Patient.builder().patientHomePhone(\"567.212.0968\").build();",
            "Patient home #: 825.649.6344",
        ],
    );
    assert_clean(&["Clinic.builder().mainPhone(\"567.212.0968\").build();"]);
}
