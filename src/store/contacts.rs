//! Contacts: name, company, numbers (normalised), tags, notes; CSV import
//! and export.
//!
//! Import: the header row picks the columns (English or Vietnamese names,
//! any order, any number of phone columns); a bad row is reported with its
//! line number and skipped; the whole file goes in as one transaction, so a
//! file that cannot be read or parsed leaves the store as it was.
//!
//! An unbalanced `"` opens a quoted field that swallows the lines after it
//! (RFC 4180 §2.6 lets a quoted field hold line breaks). A record that
//! spans several lines *and* is not a valid row is taken for that: it is
//! reported with its line range, only its first line is skipped, and
//! reading starts again on the next line, so the rows it swallowed are
//! imported. A valid multi-line record (a note over two lines) is kept.
//!
//! Text goes in through [`crate::sanitize`] (no terminal controls), and
//! the export guards cells a spreadsheet would run as formulas.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rusqlite::{OptionalExtension, Transaction, params};
use serde::Serialize;

use super::{Store, StoreError, normalize_phone, phone_key, to_ms};
use crate::sanitize::{csv_cell, multi_line, one_line};

/// A contact as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    pub id: i64,
    pub name: String,
    pub company: String,
    /// Normalised (`+84…`), in the order they were given.
    pub numbers: Vec<String>,
    pub tags: Vec<String>,
    pub notes: String,
}

/// What an import row or the console gives: numbers as written (they are
/// normalised on the way in); empty fields keep what a known contact has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactInput {
    pub name: String,
    pub company: String,
    pub numbers: Vec<String>,
    pub tags: Vec<String>,
    pub notes: String,
}

/// A row that was skipped, with the file's line number (and the last line
/// of the record, when a quoted field ran over several lines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    pub line: u64,
    pub last_line: u64,
    pub message: String,
}

impl RowProblem {
    fn at(line: u64, message: String) -> RowProblem {
        RowProblem {
            line,
            last_line: line,
            message,
        }
    }
}

impl std::fmt::Display for RowProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.last_line > self.line {
            write!(
                f,
                "lines {}–{}: {}",
                self.line, self.last_line, self.message
            )
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub added: usize,
    pub updated: usize,
    /// Rows skipped, with the reason.
    pub skipped: Vec<RowProblem>,
    /// Header columns that name no contact field.
    pub ignored_columns: Vec<String>,
}

impl std::fmt::Display for ImportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} added, {} updated, {} skipped",
            self.added,
            self.updated,
            self.skipped.len()
        )?;
        for p in &self.skipped {
            write!(f, "\n  {p}")?;
        }
        if !self.ignored_columns.is_empty() {
            write!(
                f,
                "\n  ignored columns: {}",
                self.ignored_columns.join(", ")
            )?;
        }
        Ok(())
    }
}

/// Why a whole import was refused (nothing was imported).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: cannot read the file: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: the file is empty; the first line must name the columns (name, company, phone, tags, notes)"
    )]
    Empty { path: PathBuf },
    #[error(
        "{path}: line 1: no phone number column; the header has {found:?}, one column must be named phone, number, mobile, tel or sdt (số điện thoại)"
    )]
    NoNumberColumn { path: PathBuf, found: Vec<String> },
    #[error("{path}: line {line}: {reason}")]
    Malformed {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ImportError {
    fn from(e: rusqlite::Error) -> Self {
        ImportError::Store(StoreError::Sqlite(e))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Company,
    Phone,
    Tags,
    Notes,
}

/// Which field a header names. Case, spaces, `_`, `-` and Vietnamese tone
/// marks on the common words do not matter.
fn field_for(header: &str) -> Option<Field> {
    let h: String = header
        .trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '.' | '\u{a0}'))
        .collect();
    let phone_prefixes = [
        "phone",
        "number",
        "mobile",
        "tel",
        "cell",
        "sdt",
        "sđt",
        "sốđiệnthoại",
        "sodienthoai",
        "điệnthoại",
        "dienthoai",
        "didong",
        "diđộng",
        "diđộng",
    ];
    match h.as_str() {
        "name" | "fullname" | "contact" | "customer" | "ten" | "tên" | "hoten" | "họtên"
        | "họvàtên" | "hovaten" | "kháchhàng" | "khachhang" | "tenkhachhang" | "tênkháchhàng" => {
            Some(Field::Name)
        }
        "company" | "organisation" | "organization" | "org" | "congty" | "côngty" => {
            Some(Field::Company)
        }
        "tags" | "tag" | "labels" | "label" | "groups" | "group" | "nhan" | "nhãn" => {
            Some(Field::Tags)
        }
        "notes" | "note" | "comment" | "comments" | "ghichu" | "ghichú" => Some(Field::Notes),
        _ if phone_prefixes.iter().any(|p| h.starts_with(p)) => Some(Field::Phone),
        _ => None,
    }
}

fn split_list(cell: &str, seps: &[char]) -> impl Iterator<Item = String> {
    cell.split(seps)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .into_iter()
}

impl Store {
    /// The contact with this number (normalised), if any. When two share
    /// it, the one updated last.
    pub fn contact_by_number(&self, number: &str) -> Result<Option<Contact>, StoreError> {
        let key = phone_key(number);
        let id: Option<i64> = self
            .conn
            .query_row(
                "SELECT c.id FROM contact_numbers n JOIN contacts c ON c.id = n.contact_id
                 WHERE n.number = ?1 ORDER BY c.updated_at DESC, c.id DESC LIMIT 1",
                [key],
                |r| r.get(0),
            )
            .optional()?;
        match id {
            Some(id) => self.contact(id),
            None => Ok(None),
        }
    }

    pub fn contact(&self, id: i64) -> Result<Option<Contact>, StoreError> {
        load_contact(&self.conn, id)
    }

    /// All contacts, by name.
    pub fn contacts(&self) -> Result<Vec<Contact>, StoreError> {
        let ids: Vec<i64> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id FROM contacts ORDER BY name COLLATE NOCASE, id")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(c) = load_contact(&self.conn, id)? {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// Add a contact, or merge into the one that has any of these numbers.
    /// Returns the id and whether it was new.
    pub fn upsert_contact(
        &mut self,
        input: &ContactInput,
        now: SystemTime,
    ) -> Result<(i64, bool), StoreError> {
        let mut numbers = Vec::new();
        for n in &input.numbers {
            let key =
                normalize_phone(n).map_err(|e| StoreError::BadValue(format!("contact: {e}")))?;
            if !numbers.contains(&key) {
                numbers.push(key);
            }
        }
        let tx = self.conn.transaction()?;
        let r = upsert(&tx, input, &numbers, now)?;
        tx.commit()?;
        Ok(r)
    }

    pub fn delete_contact(&self, id: i64) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .execute("DELETE FROM contacts WHERE id = ?1", [id])?
            == 1)
    }

    /// Import a CSV file (see the module doc). `now` stamps the rows.
    pub fn import_csv(
        &mut self,
        path: &Path,
        now: SystemTime,
    ) -> Result<ImportReport, ImportError> {
        let bytes = std::fs::read(path).map_err(|source| ImportError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        self.import_csv_bytes(path, &bytes, now)
    }

    /// [`Store::import_csv`] on a file already read; `path` only names it in
    /// errors. Public for the fuzz target (fuzz/), which has no file.
    #[doc(hidden)]
    pub fn import_csv_bytes(
        &mut self,
        path: &Path,
        bytes: &[u8],
        now: SystemTime,
    ) -> Result<ImportReport, ImportError> {
        let text_start = bytes
            .strip_prefix(b"\xef\xbb\xbf".as_slice())
            .unwrap_or(bytes);
        if text_start.iter().all(u8::is_ascii_whitespace) {
            return Err(ImportError::Empty {
                path: path.to_path_buf(),
            });
        }
        // Spreadsheets in a Vietnamese locale write `;`-separated files.
        let first_line = text_start.split(|b| *b == b'\n').next().unwrap_or(&[]);
        let commas = first_line.iter().filter(|b| **b == b',').count();
        let semis = first_line.iter().filter(|b| **b == b';').count();
        let tabs = first_line.iter().filter(|b| **b == b'\t').count();
        let delimiter = if tabs > commas && tabs > semis {
            b'\t'
        } else if semis > commas {
            b';'
        } else {
            b','
        };
        let builder = |has_headers: bool| {
            let mut b = csv::ReaderBuilder::new();
            b.delimiter(delimiter)
                .flexible(true)
                .has_headers(has_headers);
            b
        };
        let mut reader = builder(true).from_reader(text_start);
        let malformed = |line: u64, reason: String| ImportError::Malformed {
            path: path.to_path_buf(),
            line,
            reason,
        };
        let headers = reader
            .headers()
            .map_err(|e| malformed(1, csv_reason(&e)))?
            .clone();
        let mut fields = Vec::with_capacity(headers.len());
        let mut report = ImportReport::default();
        for h in headers.iter() {
            let f = field_for(h);
            if f.is_none() && !h.trim().is_empty() {
                report.ignored_columns.push(h.trim().to_string());
            }
            fields.push(f);
        }
        if !fields.contains(&Some(Field::Phone)) {
            return Err(ImportError::NoNumberColumn {
                path: path.to_path_buf(),
                found: headers.iter().map(|h| h.trim().to_string()).collect(),
            });
        }

        let tx = self.conn.transaction()?;
        // Where the current reader starts in the file: its byte offset and
        // the line number of its first line. A new reader starts after a
        // broken record (see the module doc).
        let mut offset = reader.position().byte() as usize;
        let mut first_line = reader.position().line();
        'restart: loop {
            let rest = text_start.get(offset..).unwrap_or_default();
            let mut reader = builder(false).from_reader(rest);
            let mut record = csv::StringRecord::new();
            loop {
                let read = reader.read_record(&mut record);
                let line_of = |p: &csv::Position| first_line + p.line() - 1;
                match read {
                    Ok(true) => {}
                    Ok(false) => break 'restart,
                    Err(e) => {
                        let line = e.position().map(line_of).unwrap_or(0);
                        // A row we cannot decode is skipped; anything else
                        // means we cannot trust the file (the transaction
                        // rolls back when `tx` drops).
                        if matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) {
                            report.skipped.push(RowProblem::at(
                                line,
                                "not valid UTF-8 text (save the file as CSV UTF-8)".into(),
                            ));
                            continue;
                        }
                        return Err(malformed(line, csv_reason(&e)));
                    }
                }
                let (line, start) = match record.position() {
                    Some(p) => (line_of(p), p.byte() as usize),
                    None => (0, 0),
                };
                let end = (reader.position().byte() as usize).min(rest.len());
                let last_line = line + record_breaks(rest.get(start..end).unwrap_or_default());
                if record.iter().all(|c| c.trim().is_empty()) {
                    continue;
                }
                let problem = if record.len() > headers.len() {
                    Err(format!(
                        "{} fields, but the header names {}",
                        record.len(),
                        headers.len()
                    ))
                } else {
                    row_input(&fields, &record)
                };
                match problem {
                    Ok((input, numbers)) => {
                        let (_, added) = upsert(&tx, &input, &numbers, now)?;
                        if added {
                            report.added += 1;
                        } else {
                            report.updated += 1;
                        }
                    }
                    Err(why) if last_line > line => {
                        // An unbalanced quote: skip its line, read on from the next.
                        report.skipped.push(RowProblem {
                            line,
                            last_line,
                            message: format!(
                                "a quoted field runs over {} lines and the row is not valid ({why}): \
                                 an unbalanced `\"`? Only line {line} was skipped; reading went on at line {}",
                                last_line - line + 1,
                                line + 1
                            ),
                        });
                        let next = rest[start..]
                            .iter()
                            .position(|b| *b == b'\n')
                            .map(|i| start + i + 1)
                            .unwrap_or(rest.len());
                        offset += next;
                        first_line = line + 1;
                        continue 'restart;
                    }
                    Err(message) => report.skipped.push(RowProblem::at(line, message)),
                }
            }
        }
        tx.commit()?;
        Ok(report)
    }

    /// Write every contact as CSV (`name,company,phones,tags,notes`; lists
    /// joined with `; `), which [`Store::import_csv`] reads back.
    pub fn export_csv(&self, out: &mut dyn Write) -> Result<usize, StoreError> {
        let contacts = self.contacts()?;
        let mut w = csv::Writer::from_writer(out);
        let io = |e: csv::Error| StoreError::Output(std::io::Error::other(e.to_string()));
        w.write_record(["name", "company", "phones", "tags", "notes"])
            .map_err(io)?;
        for c in &contacts {
            let numbers = c.numbers.join("; ");
            let tags = c.tags.join("; ");
            let cells = [
                csv_cell(&c.name),
                csv_cell(&c.company),
                // Stored numbers are normalised (`+` and digits): no formula
                // can hide there, and a `'` would break every other tool
                // that reads the file. Anything else is guarded.
                if numbers
                    .chars()
                    .all(|ch| ch.is_ascii_digit() || "+; ".contains(ch))
                {
                    std::borrow::Cow::Borrowed(numbers.as_str())
                } else {
                    csv_cell(&numbers)
                },
                csv_cell(&tags),
                csv_cell(&c.notes),
            ];
            w.write_record(cells.iter().map(|c| c.as_bytes()))
                .map_err(io)?;
        }
        w.flush().map_err(StoreError::Output)?;
        Ok(contacts.len())
    }
}

/// How many line breaks a record's bytes hold, not counting its terminator.
fn record_breaks(bytes: &[u8]) -> u64 {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let body = body.strip_suffix(b"\r").unwrap_or(body);
    body.iter().filter(|b| **b == b'\n').count() as u64
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8 text (save the file as CSV UTF-8)".into(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields, but the header names {expected_len}"),
        _ => e.to_string(),
    }
}

/// One CSV row → a contact, or why it is skipped.
fn row_input(
    fields: &[Option<Field>],
    record: &csv::StringRecord,
) -> Result<(ContactInput, Vec<String>), String> {
    let mut input = ContactInput::default();
    let mut numbers = Vec::new();
    for (field, cell) in fields.iter().zip(record.iter()) {
        // An exported cell may carry the formula guard (`'=…`): drop it.
        let cell = crate::sanitize::csv_unguard(cell.trim());
        match field {
            Some(Field::Name) if input.name.is_empty() => input.name = cell.to_string(),
            Some(Field::Company) if input.company.is_empty() => input.company = cell.to_string(),
            Some(Field::Notes) if !cell.is_empty() => {
                if !input.notes.is_empty() {
                    input.notes.push('\n');
                }
                input.notes.push_str(cell);
            }
            Some(Field::Tags) => input.tags.extend(split_list(cell, &[';', ',', '|'])),
            Some(Field::Phone) => {
                for n in split_list(cell, &[';', ',', '|', '/', '\n']) {
                    let key = normalize_phone(&n).map_err(|e| match e {
                        super::PhoneError::Empty => "an empty phone number".to_string(),
                        other => other.to_string(),
                    })?;
                    input.numbers.push(n);
                    if !numbers.contains(&key) {
                        numbers.push(key);
                    }
                }
            }
            _ => {}
        }
    }
    if numbers.is_empty() {
        return Err("no phone number".into());
    }
    Ok((input, numbers))
}

fn upsert(
    tx: &Transaction<'_>,
    input: &ContactInput,
    numbers: &[String],
    now: SystemTime,
) -> Result<(i64, bool), StoreError> {
    let mut existing: Option<i64> = None;
    for n in numbers {
        existing = tx
            .query_row(
                "SELECT contact_id FROM contact_numbers WHERE number = ?1 ORDER BY contact_id LIMIT 1",
                [n],
                |r| r.get(0),
            )
            .optional()?;
        if existing.is_some() {
            break;
        }
    }
    let now_ms = to_ms(now);
    let clean = |s: &str| one_line(s.trim()).into_owned();
    let tags = dedup(&input.tags.iter().map(|t| clean(t)).collect::<Vec<_>>());
    let (name, company) = (clean(&input.name), clean(&input.company));
    let notes = multi_line(input.notes.trim()).into_owned();
    let (id, added) = match existing {
        Some(id) => {
            let old = load_contact(tx, id)?;
            let mut all_tags = old.map(|c| c.tags).unwrap_or_default();
            for t in tags {
                if !all_tags
                    .iter()
                    .any(|x| x.to_lowercase() == t.to_lowercase())
                {
                    all_tags.push(t);
                }
            }
            tx.execute(
                "UPDATE contacts SET
                    name = CASE WHEN ?2 = '' THEN name ELSE ?2 END,
                    company = CASE WHEN ?3 = '' THEN company ELSE ?3 END,
                    tags = ?4,
                    notes = CASE WHEN ?5 = '' THEN notes ELSE ?5 END,
                    updated_at = ?6
                 WHERE id = ?1",
                params![id, name, company, tags_json(&all_tags)?, notes, now_ms],
            )?;
            (id, false)
        }
        None => {
            tx.execute(
                "INSERT INTO contacts (name, company, tags, notes, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![name, company, tags_json(&tags)?, notes, now_ms],
            )?;
            (tx.last_insert_rowid(), true)
        }
    };
    let next: i64 = tx.query_row(
        "SELECT COALESCE(MAX(position) + 1, 0) FROM contact_numbers WHERE contact_id = ?1",
        [id],
        |r| r.get(0),
    )?;
    for (i, n) in numbers.iter().enumerate() {
        tx.execute(
            "INSERT OR IGNORE INTO contact_numbers (contact_id, number, position) VALUES (?1, ?2, ?3)",
            params![id, n, next + i as i64],
        )?;
    }
    Ok((id, added))
}

fn dedup(items: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && seen.insert(s.to_lowercase()))
        .collect()
}

fn tags_json(tags: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(tags).map_err(|e| StoreError::BadValue(e.to_string()))
}

fn load_contact(conn: &rusqlite::Connection, id: i64) -> Result<Option<Contact>, StoreError> {
    let row: Option<(String, String, String, String)> = conn
        .query_row(
            "SELECT name, company, tags, notes FROM contacts WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((name, company, tags, notes)) = row else {
        return Ok(None);
    };
    let tags: Vec<String> = serde_json::from_str(&tags)
        .map_err(|e| StoreError::BadValue(format!("contact {id} tags: {e}")))?;
    let mut stmt = conn.prepare_cached(
        "SELECT number FROM contact_numbers WHERE contact_id = ?1 ORDER BY position",
    )?;
    let numbers = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(Some(Contact {
        id,
        name,
        company,
        numbers,
        tags,
        notes,
    }))
}
