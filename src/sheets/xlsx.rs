//! XLSX (Office Open XML SpreadsheetML) written as a stream: the zip
//! archive's entries carry their sizes after their data, and strings are
//! written in their cells (`inlineStr`) instead of a shared-strings table
//! that would have to be held until the end. Excel, LibreOffice and
//! Google Sheets read both.

use std::io::{self, Write};

use chrono::{NaiveDate, NaiveDateTime};
use zip::write::{SimpleFileOptions, StreamWriter};
use zip::{CompressionMethod, ZipWriter};

use super::Cell;

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>"#;

const PACKAGE_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;

const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#;

/// The cell formats the sheet uses, by their index in `cellXfs`.
mod style {
    pub const HEADER: u8 = 1;
    pub const TIME: u8 = 2;
    pub const DAY: u8 = 3;
    pub const PERCENT: u8 = 4;
}

/// Fonts: 0 regular, 1 bold. Formats 164 and 165 are our own; 10 is
/// Excel's built-in `0.00%`.
const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/><numFmt numFmtId="165" formatCode="yyyy-mm-dd"/></numFmts><fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="10" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"#;

/// The sheet's opening, with the header row frozen in place.
const SHEET_START: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><sheetData>"#;

const SHEET_END: &str = "</sheetData></worksheet>";

pub struct XlsxSheet<W: Write> {
    zip: ZipWriter<StreamWriter<W>>,
    /// The row being written, sent to the compressor whole.
    xml: String,
    rows: u32,
}

impl<W: Write> XlsxSheet<W> {
    pub fn start(out: W, title: &str, header: &[&str]) -> io::Result<Self> {
        let mut zip = ZipWriter::new_stream(out);
        // Level 1: most of the size saving of deflate at a fraction of the
        // time of the default level, for sheets of a million rows.
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(1));
        let workbook = format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="{}" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
            escape(&sheet_name(title))
        );
        let parts = [
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", PACKAGE_RELS),
            ("xl/workbook.xml", workbook.as_str()),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
            ("xl/styles.xml", STYLES),
        ];
        for (name, xml) in parts {
            zip.start_file(name, options)?;
            zip.write_all(xml.as_bytes())?;
        }
        zip.start_file("xl/worksheets/sheet1.xml", options)?;
        zip.write_all(SHEET_START.as_bytes())?;
        let mut sheet = Self { zip, xml: String::new(), rows: 0 };
        let cells: Vec<Cell<'_>> = header.iter().map(|name| Cell::Text(name)).collect();
        sheet.write_row(&cells, Some(style::HEADER))?;
        Ok(sheet)
    }

    pub fn row(&mut self, cells: &[Cell<'_>]) -> io::Result<()> {
        self.write_row(cells, None)
    }

    fn write_row(&mut self, cells: &[Cell<'_>], style: Option<u8>) -> io::Result<()> {
        self.rows += 1;
        let row = self.rows;
        self.xml.clear();
        self.xml.push_str(&format!(r#"<row r="{row}">"#));
        for (column, cell) in cells.iter().enumerate() {
            let at = format!("{}{row}", column_name(column));
            let (value, cell_style) = match cell {
                Cell::Empty => continue,
                Cell::Text(text) => {
                    let s = style.map(|s| format!(r#" s="{s}""#)).unwrap_or_default();
                    self.xml.push_str(&format!(
                        r#"<c r="{at}" t="inlineStr"{s}><is><t xml:space="preserve">{}</t></is></c>"#,
                        escape(text)
                    ));
                    continue;
                }
                Cell::Count(n) => (n.to_string(), None),
                Cell::Ratio(r) => (r.to_string(), Some(style::PERCENT)),
                Cell::Day(day) => (serial_day(*day).to_string(), Some(style::DAY)),
                Cell::Time(time) => (serial_time(*time).to_string(), Some(style::TIME)),
            };
            let s = cell_style.or(style).map(|s| format!(r#" s="{s}""#)).unwrap_or_default();
            self.xml.push_str(&format!(r#"<c r="{at}"{s}><v>{value}</v></c>"#));
        }
        self.xml.push_str("</row>");
        self.zip.write_all(self.xml.as_bytes())
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.zip.write_all(SHEET_END.as_bytes())?;
        let mut out = self.zip.finish()?.into_inner();
        out.flush()?;
        Ok(out)
    }
}

/// A sheet name as Excel accepts it: at most 31 characters, none of
/// `[]:*?/\`.
fn sheet_name(title: &str) -> String {
    title.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(31).collect()
}

/// `A` for the first column, `Z`, then `AA`, `AB`…
fn column_name(index: usize) -> String {
    let mut name = Vec::new();
    let mut n = index + 1;
    while n > 0 {
        let digit = (n - 1) % 26;
        name.push(b'A' + digit as u8);
        n = (n - 1) / 26;
    }
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
}

/// Text as XML character data. Characters that XML 1.0 cannot carry
/// (control characters, U+FFFE, U+FFFF) are left out: requests with control
/// characters are refused, but rows imported by other means are not checked.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\t' | '\n' | '\r' => escaped.push(c),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => {}
            c => escaped.push(c),
        }
    }
    escaped
}

/// Spreadsheets count days from 30 December 1899 (so that 1 March 1900 is
/// day 61, as Lotus 1-2-3 had it).
fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default()
}

fn serial_day(day: NaiveDate) -> i64 {
    (day - epoch()).num_days()
}

fn serial_time(time: NaiveDateTime) -> f64 {
    let since = time - epoch().and_time(chrono::NaiveTime::MIN);
    since.num_seconds() as f64 / 86_400.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_named_as_spreadsheets_name_them() {
        let names: Vec<String> = [0, 1, 25, 26, 27, 51, 52, 701, 702].map(column_name).to_vec();
        assert_eq!(names, ["A", "B", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]);
    }

    #[test]
    fn days_and_times_are_serial_numbers() {
        let day = NaiveDate::from_ymd_opt(2023, 10, 2).unwrap();
        // As Excel shows =DATE(2023,10,2) in the General format.
        assert_eq!(serial_day(day), 45201);
        assert_eq!(serial_time(day.and_hms_opt(18, 0, 0).unwrap()), 45201.75);
    }

    #[test]
    fn sheet_names_fit_excel() {
        assert_eq!(sheet_name("Enrolments by category/day"), "Enrolments by categoryday");
        assert_eq!(sheet_name(&"x".repeat(40)).len(), 31);
        assert_eq!(escape("Lan & <Hoa>"), "Lan &amp; &lt;Hoa&gt;");
        assert_eq!(escape("Lan\u{0}\u{ffff}\u{1b}Hoa"), "LanHoa", "not XML characters");
    }
}
