//! CSV as RFC 4180 writes it, for spreadsheets: a UTF-8 byte-order mark
//! (without it Excel reads UTF-8 as the local code page and garbles
//! Vietnamese), CRLF line ends, and no cell that a spreadsheet would run as
//! a formula.

use std::io::{self, Write};

use super::Cell;

pub struct CsvSheet<W: Write> {
    out: W,
    line: String,
}

impl<W: Write> CsvSheet<W> {
    pub fn start(mut out: W, header: &[&str]) -> io::Result<Self> {
        out.write_all("\u{feff}".as_bytes())?;
        let mut sheet = Self { out, line: String::new() };
        let cells: Vec<Cell<'_>> = header.iter().map(|name| Cell::Text(name)).collect();
        sheet.row(&cells)?;
        Ok(sheet)
    }

    pub fn row(&mut self, cells: &[Cell<'_>]) -> io::Result<()> {
        self.line.clear();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                self.line.push(',');
            }
            push_cell(&mut self.line, cell);
        }
        self.line.push_str("\r\n");
        self.out.write_all(self.line.as_bytes())
    }

    /// The writer, as it is: for rows written by someone else.
    pub fn into_writer(self) -> W {
        self.out
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

fn push_cell(line: &mut String, cell: &Cell<'_>) {
    match cell {
        Cell::Empty => {}
        Cell::Text(text) => push_text(line, text),
        // Hex digits and dashes: nothing to quote or escape.
        Cell::Id(id) => line.push_str(&id.to_string()),
        Cell::Count(n) => line.push_str(&n.to_string()),
        Cell::Ratio(r) => line.push_str(&format!("{r:.4}")),
        Cell::Day(day) => line.push_str(&day.format("%Y-%m-%d").to_string()),
        Cell::Time(time) => line.push_str(&time.format("%Y-%m-%d %H:%M").to_string()),
    }
}

/// The first characters that make a spreadsheet read a cell as a formula.
/// Text starting with one gets a leading `'`, which Excel and LibreOffice
/// show as text (OWASP's advice on CSV injection).
pub const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Text with a separator, quote or line break is quoted, as PostgreSQL's
/// `COPY` quotes it, so that an export reads the same from either backend.
fn push_text(line: &mut String, text: &str) {
    let formula = text.starts_with(FORMULA_STARTS);
    let quoted = text.contains([',', '"', '\r', '\n']);
    if quoted {
        line.push('"');
    }
    if formula {
        line.push('\'');
    }
    for c in text.chars() {
        if c == '"' {
            line.push('"');
        }
        line.push(c);
    }
    if quoted {
        line.push('"');
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    fn written(cells: &[Cell<'_>]) -> String {
        let mut sheet = CsvSheet::start(Vec::new(), &["a"]).unwrap();
        sheet.row(cells).unwrap();
        let bytes = sheet.finish().unwrap();
        let text = String::from_utf8(bytes).unwrap();
        text.strip_prefix("\u{feff}a\r\n").expect("BOM and header first").to_owned()
    }

    #[test]
    fn cells_are_typed_and_quoted_only_where_needed() {
        let day = NaiveDate::from_ymd_opt(2023, 10, 2).unwrap();
        let row = [
            Cell::Text("Nguyễn Thị Hường"),
            Cell::Count(12),
            Cell::Ratio(2.0 / 3.0),
            Cell::Day(day),
            Cell::Time(day.and_hms_opt(7, 30, 0).unwrap()),
            Cell::Empty,
            Cell::Text("Xóm 1, \"Bản\" Nà"),
        ];
        assert_eq!(
            written(&row),
            "Nguyễn Thị Hường,12,0.6667,2023-10-02,2023-10-02 07:30,,\"Xóm 1, \"\"Bản\"\" Nà\"\r\n"
        );
    }

    #[test]
    fn formulas_are_written_as_text() {
        for (text, expected) in [
            ("=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\""),
            ("+84 912", "'+84 912"),
            ("-1+1", "'-1+1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\rA", "\"'\rA\""),
            ("Lan=Hoa", "Lan=Hoa"),
        ] {
            assert_eq!(written(&[Cell::Text(text)]), format!("{expected}\r\n"), "{text}");
        }
    }
}
