//! Contacts: CSV import (one file per failure mode, asserting the message
//! the agent sees), export round trip, lookup by any form of a number.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tongdai::store::{ContactInput, ImportError, Store, contacts_export, contacts_import};

fn temp_store(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tongdai-store-contacts-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("history.sqlite3")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/contacts_import")
        .join(name)
}

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

#[test]
fn good_file_imports_every_row_and_numbers_match_in_any_form() {
    let path = temp_store("good");
    let mut store = Store::open(&path).unwrap();
    let report = store.import_csv(&fixture("good.csv"), now()).unwrap();
    assert_eq!(report.added, 3, "{report}");
    assert_eq!(report.updated, 0);
    assert!(report.skipped.is_empty(), "{report}");
    assert_eq!(report.ignored_columns, vec!["Region"]);

    let an = store.contact_by_number("+84912345678").unwrap().unwrap();
    assert_eq!(an.name, "Nguyễn Văn An");
    assert_eq!(an.company, "ACME");
    assert_eq!(an.numbers, vec!["+84912345678", "+84987654321"]);
    assert_eq!(an.tags, vec!["vip", "hanoi"]);
    assert_eq!(an.notes, "Calls in the morning");
    for form in ["0912345678", "84912345678", "0912 345 678", "098.765.4321"] {
        assert_eq!(
            store.contact_by_number(form).unwrap().map(|c| c.id),
            Some(an.id),
            "{form}"
        );
    }
    let chi = store.contact_by_number("02838123456").unwrap().unwrap();
    assert_eq!(chi.name, "Lê, Chi");
    assert_eq!(chi.numbers, vec!["+842838123456", "1002"]);
    assert_eq!(chi.tags, vec!["wholesale", "slow payer"]);
    assert_eq!(chi.notes, "Prefers email\nthen a call");
    assert!(store.contact_by_number("0900000000").unwrap().is_none());

    // The same file again updates, never duplicates.
    let again = store.import_csv(&fixture("good.csv"), now()).unwrap();
    assert_eq!((again.added, again.updated), (0, 3), "{again}");
    assert_eq!(store.contacts().unwrap().len(), 3);
}

#[test]
fn vietnamese_headers_and_semicolons() {
    let path = temp_store("vi");
    let mut store = Store::open(&path).unwrap();
    let report = store
        .import_csv(&fixture("vi_semicolon.csv"), now())
        .unwrap();
    assert_eq!(report.added, 1, "{report}");
    let c = store.contact_by_number("+84977000111").unwrap().unwrap();
    assert_eq!(
        (c.name.as_str(), c.company.as_str(), c.notes.as_str()),
        ("Phạm Dũng", "Dũng Co", "khách quen")
    );
}

#[test]
fn missing_number_column_refuses_the_file() {
    let path = temp_store("nonumber");
    let mut store = Store::open(&path).unwrap();
    let err = store
        .import_csv(&fixture("missing_number_column.csv"), now())
        .unwrap_err();
    assert!(matches!(err, ImportError::NoNumberColumn { .. }));
    let msg = err.to_string();
    assert!(
        msg.ends_with(
            "missing_number_column.csv: line 1: no phone number column; the header has [\"name\", \"company\", \"notes\"], one column must be named phone, number, mobile, tel or sdt (số điện thoại)"
        ),
        "{msg}"
    );
    assert!(store.contacts().unwrap().is_empty());
}

#[test]
fn bad_phone_rows_are_reported_with_their_line_and_skipped() {
    let path = temp_store("badphone");
    let mut store = Store::open(&path).unwrap();
    let report = store.import_csv(&fixture("bad_phone.csv"), now()).unwrap();
    assert_eq!(report.added, 2);
    let lines: Vec<String> = report.skipped.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        vec![
            "line 3: \"09x1234\" is not a phone number (only digits, spaces, `+`, `.`, `-`, `(`, `)` are allowed)",
            "line 4: no phone number",
            "line 6: \"12\" is not a phone number (3 to 15 digits expected)",
        ]
    );
    assert_eq!(
        report.to_string().lines().next(),
        Some("2 added, 0 updated, 3 skipped")
    );
    assert!(store.contact_by_number("0987654321").unwrap().is_some());
}

#[test]
fn empty_file_is_refused() {
    let path = temp_store("empty");
    let mut store = Store::open(&path).unwrap();
    let err = store.import_csv(&fixture("empty.csv"), now()).unwrap_err();
    assert!(matches!(err, ImportError::Empty { .. }));
    assert!(
        err.to_string().ends_with(
            "empty.csv: the file is empty; the first line must name the columns (name, company, phone, tags, notes)"
        ),
        "{err}"
    );
}

#[test]
fn unreadable_file_is_refused_and_nothing_changes() {
    let path = temp_store("unreadable");
    let mut store = Store::open(&path).unwrap();
    store.import_csv(&fixture("good.csv"), now()).unwrap();
    let missing = fixture("no-such-file.csv");
    let err = store.import_csv(&missing, now()).unwrap_err();
    assert!(matches!(err, ImportError::Unreadable { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("no-such-file.csv: cannot read the file: "),
        "{msg}"
    );
    assert!(msg.contains("No such file"), "{msg}");
    // A directory is unreadable as a file too.
    let err = store
        .import_csv(&fixture(""), now())
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot read the file"), "{err}");
    assert_eq!(store.contacts().unwrap().len(), 3);
}

#[test]
fn a_header_that_is_not_text_refuses_the_whole_file() {
    let path = temp_store("badheader");
    let mut store = Store::open(&path).unwrap();
    let err = store
        .import_csv(&fixture("bad_utf8_header.csv"), now())
        .unwrap_err();
    assert!(
        matches!(err, ImportError::Malformed { line: 1, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().ends_with(
            "bad_utf8_header.csv: line 1: not valid UTF-8 text (save the file as CSV UTF-8)"
        ),
        "{err}"
    );
    assert!(
        store.contacts().unwrap().is_empty(),
        "nothing half-imported"
    );
}

#[test]
fn a_row_that_is_not_text_is_skipped_with_its_line() {
    let path = temp_store("badrow");
    let mut store = Store::open(&path).unwrap();
    let report = store
        .import_csv(&fixture("bad_utf8_row.csv"), now())
        .unwrap();
    assert_eq!(report.added, 2);
    assert_eq!(
        report
            .skipped
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        vec!["line 3: not valid UTF-8 text (save the file as CSV UTF-8)"]
    );
}

#[test]
fn a_row_with_more_fields_than_the_header_is_skipped() {
    let path = temp_store("toomany");
    let mut store = Store::open(&path).unwrap();
    let report = store
        .import_csv(&fixture("too_many_fields.csv"), now())
        .unwrap();
    assert_eq!(report.added, 1);
    assert_eq!(
        report
            .skipped
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        vec!["line 3: 4 fields, but the header names 2"]
    );
}

#[test]
fn export_then_import_gives_the_same_contacts() {
    let a = temp_store("export-a");
    let mut out = Vec::new();
    contacts_import(&a, &fixture("good.csv"), &mut out).unwrap();
    let printed = String::from_utf8(out).unwrap();
    assert!(
        printed.contains("good.csv: 3 added, 0 updated, 0 skipped"),
        "{printed}"
    );
    let mut csv = Vec::new();
    assert_eq!(contacts_export(&a, &mut csv).unwrap(), 3);
    let text = String::from_utf8(csv).unwrap();
    assert!(
        text.starts_with("name,company,phones,tags,notes\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "Nguyễn Văn An,ACME,+84912345678; +84987654321,vip; hanoi,Calls in the morning\n"
        ),
        "{text}"
    );

    let file = a.with_file_name("export.csv");
    std::fs::write(&file, &text).unwrap();
    let b = temp_store("export-b");
    let mut sb = Store::open(&b).unwrap();
    let report = sb.import_csv(&file, now()).unwrap();
    assert_eq!(report.added, 3, "{report}");
    let sa = Store::open(&a).unwrap();
    let strip = |v: Vec<tongdai::store::Contact>| {
        v.into_iter()
            .map(|mut c| {
                c.id = 0;
                c
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(sa.contacts().unwrap()), strip(sb.contacts().unwrap()));
}

#[test]
fn upsert_merges_by_number_and_keeps_fields_not_given() {
    let path = temp_store("upsert");
    let mut store = Store::open(&path).unwrap();
    let (id, new) = store
        .upsert_contact(
            &ContactInput {
                name: "An".into(),
                company: "ACME".into(),
                numbers: vec!["0912345678".into()],
                tags: vec!["vip".into()],
                notes: "first".into(),
            },
            now(),
        )
        .unwrap();
    assert!(new);
    let (id2, new2) = store
        .upsert_contact(
            &ContactInput {
                numbers: vec!["+84 912 345 678".into(), "0903111222".into()],
                tags: vec!["VIP".into(), "north".into()],
                ..ContactInput::default()
            },
            now(),
        )
        .unwrap();
    assert_eq!((id2, new2), (id, false));
    let c = store.contact_by_number("0903111222").unwrap().unwrap();
    assert_eq!(c.name, "An");
    assert_eq!(c.company, "ACME");
    assert_eq!(c.notes, "first");
    assert_eq!(c.numbers, vec!["+84912345678", "+84903111222"]);
    assert_eq!(c.tags, vec!["vip", "north"]);
}

/// An unbalanced quote used to swallow the three rows after it, reported
/// as one line. Now: the range is named, only the broken line is skipped,
/// and the swallowed rows (and a real two-line note) are imported.
#[test]
fn an_unbalanced_quote_skips_only_its_line_and_reports_the_range() {
    let path = temp_store("unbalanced");
    let mut store = Store::open(&path).unwrap();
    let report = store
        .import_csv(&fixture("unbalanced_quote.csv"), now())
        .unwrap();
    let text = report.to_string();
    assert_eq!(
        text,
        "5 added, 0 updated, 1 skipped\n  lines 3–6: a quoted field runs over 4 lines and the row is not valid (no phone number): an unbalanced `\"`? Only line 3 was skipped; reading went on at line 4"
    );
    assert_eq!(
        (report.skipped[0].line, report.skipped[0].last_line),
        (3, 6)
    );
    for (number, name) in [
        ("0912000001", "An"),
        ("0912000003", "Chi"),
        ("0912000004", "Dũng"),
        ("0912000005", "Em"),
    ] {
        let c = store.contact_by_number(number).unwrap();
        assert_eq!(c.map(|c| c.name).as_deref(), Some(name), "{number}");
    }
    assert!(store.contact_by_number("0912000002").unwrap().is_none());
    let giang = store.contact_by_number("0912000006").unwrap().unwrap();
    assert_eq!(giang.notes, "a note\nover two lines");
}

/// Every cell of an export, as a spreadsheet would read it.
fn cells(csv_text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv_text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// Hostile contacts (formulas, ESC, BEL, NUL) from a CSV file and from a
/// database written before the input checks: the export has no raw
/// control but the line breaks between and inside records, and no cell a
/// spreadsheet would run; it reads back to the same formulas as text.
#[test]
fn export_neutralises_formulas_and_terminal_controls() {
    let path = temp_store("hostile");
    let mut out = Vec::new();
    let report = contacts_import(&path, &fixture("hostile.csv"), &mut out).unwrap();
    assert_eq!(report.added, 2, "{report}");
    {
        // A row an older tongdai stored raw.
        let store = Store::open(&path).unwrap();
        store
            .connection()
            .execute_batch(
                "INSERT INTO contacts (id, name, company, tags, notes, updated_at)
                 VALUES (99, char(61,72,89,80,69,82,76,73,78,75,40,34,104,34,41), 'Evil'||char(27)||'[2J', '[]', char(0)||'nul'||char(7), 0);
                 INSERT INTO contact_numbers VALUES (99, '+84912000199', 0);",
            )
            .unwrap();
    }
    let mut csv_out = Vec::new();
    assert_eq!(contacts_export(&path, &mut csv_out).unwrap(), 3);
    let text = String::from_utf8(csv_out).unwrap();
    for (i, c) in text.char_indices() {
        assert!(
            !c.is_control() || c == '\n',
            "raw control {c:?} at {i} in the export:\n{text:?}"
        );
    }
    let rows = cells(&text);
    for row in &rows[1..] {
        for cell in &row[..] {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']) || cell.starts_with("+84"),
                "formula cell {cell:?} in {row:?}"
            );
        }
    }
    let by_phone = |p: &str| {
        rows.iter()
            .find(|r| r[2] == p)
            .unwrap_or_else(|| panic!("{p} not exported: {rows:?}"))
            .clone()
    };
    assert_eq!(
        by_phone("+84912000101"),
        vec![
            "'=cmd|' /C calc'!A0",
            "'@SUM(1+1)*cmd|' /C calc'!A0",
            "+84912000101",
            "'+vip",
            "'-2+3+cmd|' /C calc'!A0"
        ]
    );
    assert_eq!(
        by_phone("+84912000102"),
        vec![
            "Red\u{fffd}[31m Alert\u{fffd}",
            "Null\u{fffd}Co",
            "+84912000102",
            "tab",
            "line one\u{fffd}]0;title\u{fffd}"
        ]
    );
    assert_eq!(
        by_phone("+84912000199"),
        vec![
            "'=HYPERLINK(\"h\")",
            "Evil\u{fffd}[2J",
            "+84912000199",
            "",
            "\u{fffd}nul\u{fffd}"
        ]
    );

    // Read back: the guard comes off, the formulas are plain text again.
    let file = path.with_file_name("hostile-export.csv");
    std::fs::write(&file, &text).unwrap();
    let back = temp_store("hostile-back");
    let mut sb = Store::open(&back).unwrap();
    let report = sb.import_csv(&file, now()).unwrap();
    assert_eq!(report.added, 3, "{report}");
    let c = sb.contact_by_number("0912000101").unwrap().unwrap();
    assert_eq!(c.name, "=cmd|' /C calc'!A0");
    assert_eq!(c.tags, vec!["+vip"]);
}
