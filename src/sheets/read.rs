//! Reading the tables people fill in: a CSV as a spreadsheet program saves
//! it (UTF-8 with or without a byte-order mark, `,`, `;` or tab between
//! cells, quoted cells), or the first sheet of an XLSX workbook (shared
//! strings, inline strings, numbers, days as serial numbers).

use std::io::{Cursor, Read};

use chrono::{Duration, NaiveDate};
use quick_xml::events::Event;
use quick_xml::reader::Reader;
use zip::ZipArchive;

/// One cell as the file holds it.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    Text(String),
    /// A number cell of a workbook: a day is one (see [`excel_day`]), and
    /// so is a phone number typed without care, its leading 0 lost.
    Number(f64),
}

impl Entry {
    /// The cell as text, trimmed; a whole number without a decimal point.
    pub fn text(&self) -> String {
        match self {
            Self::Text(text) => text.trim().to_owned(),
            Self::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Self::Number(n) => n.to_string(),
        }
    }
}

/// A row with at least one cell filled, numbered as the spreadsheet numbers
/// it (the header is usually row 1).
#[derive(Debug)]
pub struct ReadRow {
    pub number: u32,
    pub cells: Vec<Entry>,
}

#[derive(Debug)]
pub struct ReadTable {
    /// The rows with something in them, the header first.
    pub rows: Vec<ReadRow>,
    /// Whether a workbook counts days from 1904 (old Mac Excel) instead of
    /// 1900.
    pub days_from_1904: bool,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ReadError {
    /// Neither a CSV nor an XLSX workbook (an old `.xls`, a PDF, an
    /// OpenDocument file, a damaged workbook).
    NotATable,
    /// A CSV in another encoding than UTF-8.
    NotUtf8,
    /// More rows under the header than `max_rows`.
    TooManyRows,
}

/// The most any one part of a workbook may unpack to: a small file that
/// unpacks to gigabytes is refused, not read.
const MAX_PART_BYTES: u64 = 64 << 20;

/// The most text the cells of a table may hold together: a workbook can
/// name one long shared string from every cell.
const MAX_TEXT_BYTES: usize = 64 << 20;

/// Columns past this one are left unread: no list of people has them, and
/// a cell far to the right would otherwise make every row that wide.
const MAX_COLUMNS: usize = 256;

/// Reads a CSV or XLSX file, whichever `bytes` is, keeping at most
/// `max_rows` rows under the header.
pub fn read_table(bytes: &[u8], max_rows: usize) -> Result<ReadTable, ReadError> {
    let mut rows = if bytes.starts_with(b"PK\x03\x04") {
        return read_xlsx(bytes, max_rows);
    } else {
        read_csv(bytes, max_rows)?
    };
    rows.retain(|row| row.cells.iter().any(|cell| !cell.text().is_empty()));
    Ok(ReadTable { rows, days_from_1904: false })
}

/// The day a workbook's serial number stands for: days since 1899-12-30
/// (1900 system, right from 1 March 1900 on) or since 1904-01-01.
pub fn excel_day(serial: f64, days_from_1904: bool) -> Option<NaiveDate> {
    let epoch = if days_from_1904 {
        NaiveDate::from_ymd_opt(1904, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(1899, 12, 30)?
    };
    if !(1.0..=2_958_465.0).contains(&serial) {
        return None;
    }
    epoch.checked_add_signed(Duration::days(serial.trunc() as i64))
}

fn read_csv(bytes: &[u8], max_rows: usize) -> Result<Vec<ReadRow>, ReadError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ReadError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('\0') {
        return Err(ReadError::NotATable);
    }
    let separator = sniff_separator(text);
    let mut rows = Vec::new();
    let mut cells = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut number = 1;
    let mut end_row = |cells: &mut Vec<Entry>, number: &mut u32| -> Result<(), ReadError> {
        let row = ReadRow { number: *number, cells: std::mem::take(cells) };
        *number += 1;
        if row.cells.iter().any(|c| !c.text().is_empty()) {
            // The header and `max_rows` under it; one more tells the file
            // is too long.
            if rows.len() > max_rows {
                return Err(ReadError::TooManyRows);
            }
            rows.push(row);
        }
        Ok(())
    };
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') if cell.trim().is_empty() => {
                cell.clear();
                quoted = true;
            }
            (false, c) if c == separator => {
                let text = std::mem::take(&mut cell);
                if cells.len() < MAX_COLUMNS {
                    cells.push(Entry::Text(text));
                }
            }
            (false, '\r' | '\n') => {
                if c == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                let text = std::mem::take(&mut cell);
                if cells.len() < MAX_COLUMNS {
                    cells.push(Entry::Text(text));
                }
                end_row(&mut cells, &mut number)?;
            }
            (false, c) => cell.push(c),
        }
    }
    if quoted {
        // A quote never closed took the rest of the file into one cell.
        return Err(ReadError::NotATable);
    }
    if !cell.is_empty() || !cells.is_empty() {
        cells.push(Entry::Text(cell));
        end_row(&mut cells, &mut number)?;
    }
    Ok(rows)
}

/// The separator of the header line: the most frequent of `,`, `;` and
/// tab outside quotes (Excel writes `;` where the decimal mark is a comma).
fn sniff_separator(text: &str) -> char {
    let mut counts = [(',', 0), (';', 0), ('\t', 0)];
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '\r' | '\n' if !quoted => break,
            _ if !quoted => {
                if let Some(count) = counts.iter_mut().find(|(s, _)| *s == c) {
                    count.1 += 1;
                }
            }
            _ => {}
        }
    }
    counts.iter().max_by_key(|(_, n)| *n).filter(|(_, n)| *n > 0).map_or(',', |(s, _)| *s)
}

fn read_xlsx(bytes: &[u8], max_rows: usize) -> Result<ReadTable, ReadError> {
    let mut zip = ZipArchive::new(Cursor::new(bytes)).map_err(|_| ReadError::NotATable)?;
    let workbook = part(&mut zip, "xl/workbook.xml")?.ok_or(ReadError::NotATable)?;
    let (first_sheet, days_from_1904) = first_sheet(&workbook)?;
    let rels = part(&mut zip, "xl/_rels/workbook.xml.rels")?.ok_or(ReadError::NotATable)?;
    let target = relationship_target(&rels, &first_sheet)?;
    let path = match target.strip_prefix('/') {
        Some(absolute) => absolute.to_owned(),
        None => format!("xl/{target}"),
    };
    let strings = match part(&mut zip, "xl/sharedStrings.xml")? {
        Some(xml) => shared_strings(&xml)?,
        None => Vec::new(),
    };
    let sheet = part(&mut zip, &path)?.ok_or(ReadError::NotATable)?;
    let rows = sheet_rows(&sheet, &strings, max_rows)?;
    Ok(ReadTable { rows, days_from_1904 })
}

/// A part of the workbook as text, `None` if it has no such part.
fn part(zip: &mut ZipArchive<Cursor<&[u8]>>, name: &str) -> Result<Option<String>, ReadError> {
    let file = match zip.by_name(name) {
        Ok(file) => file,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(_) => return Err(ReadError::NotATable),
    };
    let mut text = String::new();
    let read = file.take(MAX_PART_BYTES + 1).read_to_string(&mut text);
    match read {
        Ok(n) if (n as u64) <= MAX_PART_BYTES => Ok(Some(text)),
        _ => Err(ReadError::NotATable),
    }
}

/// The relationship id of the workbook's first sheet, and its day system.
fn first_sheet(xml: &str) -> Result<(String, bool), ReadError> {
    let mut reader = Reader::from_str(xml);
    let mut days_from_1904 = false;
    loop {
        match reader.read_event().map_err(|_| ReadError::NotATable)? {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                b"workbookPr" => {
                    days_from_1904 =
                        matches!(attribute(&e, b"date1904").as_deref(), Some("1" | "true"))
                }
                b"sheet" => {
                    let id = attribute(&e, b"id").ok_or(ReadError::NotATable)?;
                    return Ok((id, days_from_1904));
                }
                _ => {}
            },
            Event::Eof => return Err(ReadError::NotATable),
            _ => {}
        }
    }
}

fn relationship_target(xml: &str, id: &str) -> Result<String, ReadError> {
    let mut reader = Reader::from_str(xml);
    loop {
        match reader.read_event().map_err(|_| ReadError::NotATable)? {
            Event::Start(e) | Event::Empty(e)
                if e.local_name().as_ref() == b"Relationship"
                    && attribute(&e, b"Id").as_deref() == Some(id) =>
            {
                return attribute(&e, b"Target").ok_or(ReadError::NotATable);
            }
            Event::Eof => return Err(ReadError::NotATable),
            _ => {}
        }
    }
}

/// The value of the attribute whose local name is `name` (prefixes, such
/// as `r:id`, set aside).
fn attribute(e: &quick_xml::events::BytesStart<'_>, name: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// Collects the text of `<t>` elements until the end of `until`, leaving
/// out phonetic guides (`<rPh>`), which are not part of the text.
fn text_until(reader: &mut Reader<&[u8]>, until: &[u8]) -> Result<String, ReadError> {
    let mut text = String::new();
    let mut in_t = false;
    let mut in_phonetic = false;
    loop {
        match reader.read_event().map_err(|_| ReadError::NotATable)? {
            Event::Start(e) => match e.local_name().as_ref() {
                b"t" => in_t = true,
                b"rPh" => in_phonetic = true,
                _ => {}
            },
            Event::End(e) => match e.local_name().as_ref() {
                name if name == until => return Ok(text),
                b"t" => in_t = false,
                b"rPh" => in_phonetic = false,
                _ => {}
            },
            Event::Text(t) if in_t && !in_phonetic => {
                text.push_str(&t.decode().map_err(|_| ReadError::NotATable)?)
            }
            Event::CData(t) if in_t && !in_phonetic => {
                text.push_str(&t.decode().map_err(|_| ReadError::NotATable)?)
            }
            Event::GeneralRef(r) if in_t && !in_phonetic => text.push_str(&entity(&r)?),
            Event::Eof => return Err(ReadError::NotATable),
            _ => {}
        }
    }
}

/// `&amp;`, `&#7879;` and the like, as the character they stand for.
fn entity(r: &quick_xml::events::BytesRef<'_>) -> Result<String, ReadError> {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        return Ok(c.to_string());
    }
    let name = r.decode().map_err(|_| ReadError::NotATable)?;
    quick_xml::escape::resolve_xml_entity(&name).map(str::to_owned).ok_or(ReadError::NotATable)
}

fn shared_strings(xml: &str) -> Result<Vec<String>, ReadError> {
    let mut reader = Reader::from_str(xml);
    let mut strings = Vec::new();
    loop {
        match reader.read_event().map_err(|_| ReadError::NotATable)? {
            Event::Start(e) if e.local_name().as_ref() == b"si" => {
                strings.push(text_until(&mut reader, b"si")?)
            }
            Event::Empty(e) if e.local_name().as_ref() == b"si" => strings.push(String::new()),
            Event::Eof => return Ok(strings),
            _ => {}
        }
    }
}

/// The index of a cell's column from its reference (`C12` is 2).
fn column_of(reference: &str) -> Option<usize> {
    let letters = reference.bytes().take_while(u8::is_ascii_alphabetic);
    let mut column = 0usize;
    for letter in letters {
        column = column.checked_mul(26)? + usize::from(letter.to_ascii_uppercase() - b'A' + 1);
    }
    // Excel's last column is XFD, the 16,384th.
    (1..=16_384).contains(&column).then(|| column - 1)
}

fn sheet_rows(xml: &str, strings: &[String], max_rows: usize) -> Result<Vec<ReadRow>, ReadError> {
    let mut reader = Reader::from_str(xml);
    let mut rows: Vec<ReadRow> = Vec::new();
    let mut row: Option<ReadRow> = None;
    let mut next_number: u32 = 1;
    let mut text_bytes = 0usize;
    loop {
        match reader.read_event().map_err(|_| ReadError::NotATable)? {
            Event::Start(e) if e.local_name().as_ref() == b"row" => {
                let number =
                    attribute(&e, b"r").and_then(|r| r.parse().ok()).unwrap_or(next_number);
                next_number = number.saturating_add(1);
                row = Some(ReadRow { number, cells: Vec::new() });
            }
            Event::End(e) if e.local_name().as_ref() == b"row" => {
                if let Some(done) = row.take()
                    && done.cells.iter().any(|c| !c.text().is_empty())
                {
                    if rows.len() > max_rows {
                        return Err(ReadError::TooManyRows);
                    }
                    rows.push(done);
                }
            }
            Event::Start(e) if e.local_name().as_ref() == b"c" => {
                let Some(row) = row.as_mut() else { return Err(ReadError::NotATable) };
                let kind = attribute(&e, b"t").unwrap_or_default();
                let column = match attribute(&e, b"r") {
                    Some(reference) => column_of(&reference).ok_or(ReadError::NotATable)?,
                    None => row.cells.len(),
                };
                let entry = cell_entry(&mut reader, &kind, strings)?;
                if column >= MAX_COLUMNS {
                    continue;
                }
                if let Entry::Text(text) = &entry {
                    text_bytes += text.len();
                    if text_bytes > MAX_TEXT_BYTES {
                        return Err(ReadError::NotATable);
                    }
                }
                if column >= row.cells.len() {
                    row.cells.resize(column + 1, Entry::Text(String::new()));
                }
                row.cells[column] = entry;
            }
            Event::Eof => return Ok(rows),
            _ => {}
        }
    }
}

/// The value of a `<c>` cell of type `kind`, read to its end.
fn cell_entry(
    reader: &mut Reader<&[u8]>,
    kind: &str,
    strings: &[String],
) -> Result<Entry, ReadError> {
    if kind == "inlineStr" {
        return text_until(reader, b"c").map(Entry::Text);
    }
    let mut value = String::new();
    let mut in_v = false;
    loop {
        match reader.read_event().map_err(|_| ReadError::NotATable)? {
            Event::Start(e) if e.local_name().as_ref() == b"v" => in_v = true,
            Event::End(e) if e.local_name().as_ref() == b"v" => in_v = false,
            Event::End(e) if e.local_name().as_ref() == b"c" => break,
            Event::Text(t) if in_v => {
                value.push_str(&t.decode().map_err(|_| ReadError::NotATable)?)
            }
            Event::GeneralRef(r) if in_v => value.push_str(&entity(&r)?),
            Event::Eof => return Err(ReadError::NotATable),
            _ => {}
        }
    }
    Ok(match kind {
        "s" => {
            let index: usize = value.trim().parse().map_err(|_| ReadError::NotATable)?;
            Entry::Text(strings.get(index).cloned().ok_or(ReadError::NotATable)?)
        }
        // A formula's text, an error (`#N/A`), or a day written as text.
        "str" | "e" | "d" => Entry::Text(value),
        "b" => Entry::Text(if value.trim() == "1" { "TRUE" } else { "FALSE" }.to_owned()),
        _ if value.trim().is_empty() => Entry::Text(String::new()),
        _ => value.trim().parse().map(Entry::Number).map_err(|_| ReadError::NotATable)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(table: &ReadTable) -> Vec<(u32, Vec<String>)> {
        table.rows.iter().map(|r| (r.number, r.cells.iter().map(Entry::text).collect())).collect()
    }

    #[test]
    fn a_csv_as_excel_writes_it_in_a_comma_decimal_locale() {
        let file = "\u{feff}Họ và tên;Ngày sinh;Ghi chú\r\nNguyễn Văn A;04/05/2012;\"có ; và \"\"ngoặc\"\"\r\nxuống dòng\"\r\n;;\r\nTrần B;2011-01-02;\r\n";
        let table = read_table(file.as_bytes(), 10).unwrap();
        assert_eq!(
            texts(&table),
            [
                (1, vec!["Họ và tên".into(), "Ngày sinh".into(), "Ghi chú".into()]),
                (
                    2,
                    vec![
                        "Nguyễn Văn A".into(),
                        "04/05/2012".into(),
                        "có ; và \"ngoặc\"\r\nxuống dòng".into()
                    ]
                ),
                (4, vec!["Trần B".into(), "2011-01-02".into(), "".into()]),
            ]
        );
    }

    #[test]
    fn a_comma_csv_without_a_final_newline() {
        let table = read_table(b"full_name,phone\nAn,0912\nBinh,", 10).unwrap();
        assert_eq!(texts(&table)[2], (3, vec!["Binh".into(), "".into()]));
    }

    #[test]
    fn too_many_rows_and_what_is_no_table_are_told_apart() {
        assert_eq!(read_table(b"name\na\nb\nc\n", 2).unwrap_err(), ReadError::TooManyRows);
        assert_eq!(read_table(b"name\na\nb\n", 2).unwrap().rows.len(), 3);
        assert_eq!(read_table(b"T\xean\n", 2).unwrap_err(), ReadError::NotUtf8);
        assert_eq!(read_table(b"PK\x03\x04garbage", 2).unwrap_err(), ReadError::NotATable);
        let unclosed = read_table(b"name\n\"An\nBinh\n", 2);
        assert_eq!(unclosed.unwrap_err(), ReadError::NotATable, "a quote never closed");
    }

    #[test]
    fn cells_far_to_the_right_are_left_unread() {
        let wide = format!("name{}\nAn{}x\n", ",".repeat(300), ",".repeat(300));
        let table = read_table(wide.as_bytes(), 2).unwrap();
        assert!(table.rows.iter().all(|row| row.cells.len() <= MAX_COLUMNS));
    }

    #[test]
    fn workbook_days_are_counted_from_their_epoch() {
        assert_eq!(excel_day(40_698.0, false), NaiveDate::from_ymd_opt(2011, 6, 4));
        assert_eq!(excel_day(39_236.0, true), NaiveDate::from_ymd_opt(2011, 6, 4));
        assert_eq!(excel_day(-3.0, false), None);
    }

    #[test]
    fn columns_are_read_from_their_references() {
        assert_eq!(column_of("A1"), Some(0));
        assert_eq!(column_of("AB12"), Some(27));
        assert_eq!(column_of("XFD1"), Some(16_383));
        assert_eq!(column_of("XFE1"), None);
    }
}
