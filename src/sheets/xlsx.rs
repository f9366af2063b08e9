//! XLSX (Office Open XML SpreadsheetML) written as a stream: the zip
//! archive's entries carry their sizes after their data, and strings are
//! written in their cells (`inlineStr`) instead of a shared-strings table
//! that would have to be held until the end. Excel, LibreOffice and
//! Google Sheets read both.
//!
//! Each sheet is laid out for reading: columns as wide as their values, the
//! header row bold and frozen, and an autofilter over the table. Widths come
//! before the rows in the file, so they are given up front ([`Column`]); the
//! filter's range comes after them, when the last row is known.

use std::io::{self, Write};

use chrono::{NaiveDate, NaiveDateTime};
use zip::write::{SimpleFileOptions, StreamWriter};
use zip::{CompressionMethod, ZipWriter};

use super::{Cell, Column};

/// Excel's limit of rows on one sheet; longer tables go on to more sheets,
/// each with the header again.
const ROWS_PER_SHEET: u32 = 1_048_576;

pub(super) const PACKAGE_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;

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

/// The sheet's opening, with the header row frozen in place; the column
/// widths follow it.
const SHEET_START: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews>"#;

/// The widest a column is set, in characters: long venues and names wrap
/// the reader's eye less than a column that fills the screen.
const MAX_COLUMN_WIDTH: usize = 60;

pub struct XlsxSheet<W: Write> {
    zip: ZipWriter<StreamWriter<W>>,
    options: SimpleFileOptions,
    title: String,
    columns: Vec<Column>,
    /// Sheets begun so far; the last is being written.
    sheets: u32,
    /// The table rows of each sheet ended so far, its header included.
    rows_of_sheets: Vec<u32>,
    rows_per_sheet: u32,
    /// Rows written on the current sheet, its header included.
    rows: u32,
    /// The rows of the current sheet's table, when a footer follows it.
    table_rows: Option<u32>,
    /// The row being written, sent to the compressor whole.
    xml: String,
    /// Values offered as a drop-down list in columns of the first sheet,
    /// from a sheet of their own named `choices_title` (see
    /// [`Self::offer_choices`]).
    choices: Vec<(usize, Vec<String>)>,
    choices_title: String,
    /// How many rows under the header the lists are offered in.
    choice_rows: u32,
}

impl<W: Write> XlsxSheet<W> {
    pub fn start(out: W, title: &str, columns: &[Column]) -> io::Result<Self> {
        Self::start_with_limit(out, title, columns, ROWS_PER_SHEET)
    }

    /// The sheets come first, as their rows arrive; the parts that list
    /// them (workbook, relationships, content types) are written at the
    /// end, when their number is known. A zip archive's order is free.
    fn start_with_limit(
        out: W,
        title: &str,
        columns: &[Column],
        rows_per_sheet: u32,
    ) -> io::Result<Self> {
        // Level 1: most of the size saving of deflate at a fraction of the
        // time of the default level, for sheets of a million rows.
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(1));
        let mut sheet = Self {
            zip: ZipWriter::new_stream(out),
            options,
            title: title.to_owned(),
            columns: columns.to_vec(),
            sheets: 0,
            rows_of_sheets: Vec::new(),
            rows_per_sheet,
            rows: 0,
            table_rows: None,
            xml: String::new(),
            choices: Vec::new(),
            choices_title: String::new(),
            choice_rows: 0,
        };
        sheet.begin_sheet()?;
        Ok(sheet)
    }

    fn begin_sheet(&mut self) -> io::Result<()> {
        self.sheets += 1;
        self.rows = 0;
        self.zip.start_file(format!("xl/worksheets/sheet{}.xml", self.sheets), self.options)?;
        let mut start = String::from(SHEET_START);
        start.push_str("<cols>");
        for (i, column) in self.columns.iter().enumerate() {
            // Two characters of margin; a bold header is a little wider.
            let width = (column.width + 2).min(MAX_COLUMN_WIDTH);
            let n = i + 1;
            start.push_str(&format!(
                r#"<col min="{n}" max="{n}" width="{width}" customWidth="1"/>"#
            ));
        }
        start.push_str("</cols><sheetData>");
        self.zip.write_all(start.as_bytes())?;
        let header = std::mem::take(&mut self.columns);
        let cells: Vec<Cell<'_>> = header.iter().map(|c| Cell::Text(&c.header)).collect();
        let written = self.write_row(&cells, Some(style::HEADER));
        self.columns = header;
        written
    }

    /// Offers `values` as a drop-down list in `column` of the first
    /// sheet, from its header down to `rows` rows below it (what people
    /// type is still accepted: the list helps, the reader decides). The
    /// values go to a sheet named `title` after the table's sheets: Excel
    /// writes a list inline only when no value holds a comma. Call before
    /// the first sheet ends.
    pub fn offer_choices(&mut self, title: &str, column: usize, values: &[&str], rows: u32) {
        self.choices_title = title.to_owned();
        self.choices.push((column, values.iter().map(|v| (*v).to_owned()).collect()));
        self.choice_rows = rows;
    }

    /// Closes the sheet being written, with an autofilter over its table
    /// and, on the first sheet, the lists offered.
    fn end_sheet(&mut self) -> io::Result<()> {
        let table_rows = self.table_rows.take().unwrap_or(self.rows);
        let mut validations = String::new();
        if self.sheets == 1 && !self.choices.is_empty() {
            let source = self.choices_title.replace('\'', "''");
            validations.push_str(&format!(r#"<dataValidations count="{}">"#, self.choices.len()));
            for (list, (column, values)) in self.choices.iter().enumerate() {
                let target = column_name(*column);
                let from = column_name(list);
                validations.push_str(&format!(
                    r#"<dataValidation type="list" allowBlank="1" sqref="{target}2:{target}{}"><formula1>{}</formula1></dataValidation>"#,
                    self.choice_rows + 1,
                    escape(&format!("'{source}'!${from}$1:${from}${}", values.len().max(1)))
                ));
            }
            validations.push_str("</dataValidations>");
        }
        let end = format!(
            r#"</sheetData><autoFilter ref="{}"/>{validations}</worksheet>"#,
            self.table_range(table_rows)
        );
        self.zip.write_all(end.as_bytes())?;
        self.rows_of_sheets.push(table_rows);
        Ok(())
    }

    /// `A1:F20`: the header and `rows` rows below it, over every column.
    fn table_range(&self, rows: u32) -> String {
        let last = column_name(self.columns.len().max(1) - 1);
        format!("A1:{last}{}", rows.max(1))
    }

    pub fn row(&mut self, cells: &[Cell<'_>]) -> io::Result<()> {
        if self.rows == self.rows_per_sheet {
            self.end_sheet()?;
            self.begin_sheet()?;
        }
        self.write_row(cells, None)
    }

    /// A row below the table, outside its autofilter.
    pub fn footer(&mut self, cells: &[Cell<'_>]) -> io::Result<()> {
        if self.rows == self.rows_per_sheet {
            self.end_sheet()?;
            self.begin_sheet()?;
        }
        self.table_rows.get_or_insert(self.rows);
        self.write_row(cells, None)
    }

    fn push_text(&mut self, at: &str, style: Option<u8>, text: &str) {
        let s = style.map(|s| format!(r#" s="{s}""#)).unwrap_or_default();
        self.xml.push_str(&format!(
            r#"<c r="{at}" t="inlineStr"{s}><is><t xml:space="preserve">{}</t></is></c>"#,
            escape(text)
        ));
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
                    self.push_text(&at, style, text);
                    continue;
                }
                Cell::Id(id) => {
                    self.push_text(&at, style, &id.to_string());
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
        self.end_sheet()?;
        let lists = self.write_choices()?;
        let numbers = 1..=self.sheets;
        let mut content_types = String::from(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>"#,
        );
        let mut workbook = String::from(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>"#,
        );
        let mut relationships = String::from(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
        );
        for n in numbers.chain(lists) {
            content_types.push_str(&format!(
                r#"<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#
            ));
            let name = if n > self.sheets {
                sheet_name(&self.choices_title, 1)
            } else {
                sheet_name(&self.title, n)
            };
            workbook.push_str(&format!(
                r#"<sheet name="{}" sheetId="{n}" r:id="rId{n}"/>"#,
                escape(&name)
            ));
            relationships.push_str(&format!(
                r#"<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>"#
            ));
        }
        content_types.push_str("</Types>");
        // Spreadsheets find each sheet's autofilter by this hidden name.
        workbook.push_str("</sheets><definedNames>");
        for (i, rows) in self.rows_of_sheets.iter().enumerate() {
            let sheet = sheet_name(&self.title, i as u32 + 1).replace('\'', "''");
            let range = absolute(&self.table_range(*rows));
            workbook.push_str(&format!(
                r#"<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">{}</definedName>"#,
                escape(&format!("'{sheet}'!{range}"))
            ));
        }
        workbook.push_str("</definedNames></workbook>");
        relationships.push_str(&format!(
            r#"<Relationship Id="rId{}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#,
            self.sheets + u32::from(lists.is_some()) + 1
        ));
        let parts = [
            ("[Content_Types].xml", content_types.as_str()),
            ("_rels/.rels", PACKAGE_RELS),
            ("xl/workbook.xml", workbook.as_str()),
            ("xl/_rels/workbook.xml.rels", relationships.as_str()),
            ("xl/styles.xml", STYLES),
        ];
        for (name, xml) in parts {
            self.zip.start_file(name, self.options)?;
            self.zip.write_all(xml.as_bytes())?;
        }
        let mut out = self.zip.finish()?.into_inner();
        out.flush()?;
        Ok(out)
    }
}

impl<W: Write> XlsxSheet<W> {
    /// The sheet of the offered lists, one list a column, if any was
    /// offered: its number, after the table's sheets.
    fn write_choices(&mut self) -> io::Result<Option<u32>> {
        if self.choices.is_empty() {
            return Ok(None);
        }
        let n = self.sheets + 1;
        self.zip.start_file(format!("xl/worksheets/sheet{n}.xml"), self.options)?;
        let mut xml = String::from(SHEET_START);
        xml.push_str("<sheetData>");
        let longest = self.choices.iter().map(|(_, values)| values.len()).max().unwrap_or(0);
        for row in 0..longest {
            let r = row + 1;
            xml.push_str(&format!(r#"<row r="{r}">"#));
            for (list, (_, values)) in self.choices.iter().enumerate() {
                if let Some(value) = values.get(row) {
                    xml.push_str(&format!(
                        r#"<c r="{}{r}" t="inlineStr"><is><t>{}</t></is></c>"#,
                        column_name(list),
                        escape(value)
                    ));
                }
            }
            xml.push_str("</row>");
        }
        xml.push_str("</sheetData></worksheet>");
        self.zip.write_all(xml.as_bytes())?;
        Ok(Some(n))
    }
}

/// The name of sheet `n` as Excel accepts it: at most 31 characters, none
/// of `[]:*?/\`; from the second sheet on, with its number.
pub(super) fn sheet_name(title: &str, n: u32) -> String {
    let suffix = if n == 1 { String::new() } else { format!(" ({n})") };
    let kept = 31 - suffix.chars().count();
    let name: String = title.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(kept).collect();
    name + &suffix
}

/// `A1:F20` as `$A$1:$F$20`, the spelling of a defined name's range.
fn absolute(range: &str) -> String {
    let cell = |at: &str| {
        let digits = at.find(|c: char| c.is_ascii_digit()).unwrap_or(at.len());
        format!("${}${}", &at[..digits], &at[digits..])
    };
    range.split(':').map(cell).collect::<Vec<_>>().join(":")
}

/// `A` for the first column, `Z`, then `AA`, `AB`…
pub(super) fn column_name(index: usize) -> String {
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
pub(super) fn escape(text: &str) -> String {
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
    fn rows_past_a_sheets_limit_go_on_to_the_next_sheet() {
        let columns = [Column::new("n", 4)];
        let mut sheet = XlsxSheet::start_with_limit(Vec::new(), "Enrolments", &columns, 3).unwrap();
        for n in 1..=5 {
            sheet.row(&[Cell::Count(n)]).unwrap();
        }
        let bytes = sheet.finish().unwrap();
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut part = |name: &str| {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut archive.by_name(name).unwrap(), &mut text).unwrap();
            text
        };
        let workbook = part("xl/workbook.xml");
        assert!(workbook.contains(r#"<sheet name="Enrolments" sheetId="1" r:id="rId1"/>"#));
        assert!(workbook.contains(r#"<sheet name="Enrolments (2)" sheetId="2" r:id="rId2"/>"#));
        assert!(workbook.contains(r#"<sheet name="Enrolments (3)" sheetId="3" r:id="rId3"/>"#));
        // Each sheet: the header, then at most two rows (3 with the header).
        let values = |xml: String| -> Vec<String> {
            xml.split("<v>").skip(1).map(|v| v[..v.find('<').unwrap()].to_owned()).collect()
        };
        assert_eq!(values(part("xl/worksheets/sheet1.xml")), ["1", "2"]);
        assert_eq!(values(part("xl/worksheets/sheet2.xml")), ["3", "4"]);
        assert_eq!(values(part("xl/worksheets/sheet3.xml")), ["5"]);
        assert!(part("xl/worksheets/sheet3.xml").contains("<is><t xml:space=\"preserve\">n</t>"));
        assert!(part("xl/_rels/workbook.xml.rels").contains(r#"Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles""#));
        assert!(part("[Content_Types].xml").contains("/xl/worksheets/sheet3.xml"));
        // Each sheet filters its own table: 3 rows, 3 rows, then 2.
        assert!(part("xl/worksheets/sheet2.xml").contains(r#"<autoFilter ref="A1:A3"/>"#));
        assert!(part("xl/worksheets/sheet3.xml").contains(r#"<autoFilter ref="A1:A2"/>"#));
        assert!(workbook.contains(r#"localSheetId="2" hidden="1">'Enrolments (3)'!$A$1:$A$2<"#));
    }

    #[test]
    fn ranges_are_spelt_absolute() {
        assert_eq!(absolute("A1:AB1048576"), "$A$1:$AB$1048576");
    }

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
        assert_eq!(sheet_name("Enrolments by category/day", 1), "Enrolments by categoryday");
        assert_eq!(sheet_name(&"x".repeat(40), 1).len(), 31);
        assert_eq!(sheet_name(&"x".repeat(40), 12), format!("{} (12)", "x".repeat(26)));
        assert_eq!(escape("Lan & <Hoa>"), "Lan &amp; &lt;Hoa&gt;");
        assert_eq!(escape("Lan\u{0}\u{ffff}\u{1b}Hoa"), "LanHoa", "not XML characters");
    }
}
