//! A form to print: one XLSX sheet laid out for paper (A4 portrait, as wide
//! as the page, the table's header repeated on every page, page numbers at
//! the foot), with lines of text above a bordered table whose rows are tall
//! enough to write and sign in. Held in memory: a form is one class's list,
//! never an export's million rows.

use std::io::{self, Cursor, Write};

use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use super::Column;
use super::xlsx::{PACKAGE_RELS, column_name, escape, sheet_name};

/// The cell formats, by their index in `cellXfs`.
mod style {
    pub const TITLE: u8 = 1;
    pub const TABLE_HEADER: u8 = 2;
    pub const TABLE_TEXT: u8 = 3;
    pub const TABLE_NUMBER: u8 = 4;
    pub const LINE: u8 = 5;
}

/// Fonts: 0 regular, 1 bold, 2 bold and larger (the title). Border 1 is a
/// thin line on every side, for the table.
const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="3"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="14"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border><border><left style="thin"/><right style="thin"/><top style="thin"/><bottom style="thin"/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="6"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="2" fillId="0" borderId="0" xfId="0" applyFont="1"/><xf numFmtId="0" fontId="1" fillId="0" borderId="1" xfId="0" applyFont="1" applyBorder="1" applyAlignment="1"><alignment horizontal="center" vertical="center" wrapText="1"/></xf><xf numFmtId="0" fontId="0" fillId="0" borderId="1" xfId="0" applyBorder="1" applyAlignment="1"><alignment vertical="center" wrapText="1"/></xf><xf numFmtId="0" fontId="0" fillId="0" borderId="1" xfId="0" applyBorder="1" applyAlignment="1"><alignment horizontal="center" vertical="center"/></xf><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"#;

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#;

const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>"#;

/// Row heights in points: a table row holds a signature; a line of text
/// above the table takes one of these for each time it wraps.
const HEADER_HEIGHT: u32 = 32;
const ROW_HEIGHT: u32 = 30;
const LINE_HEIGHT: u32 = 15;

/// A form: `title` on top (and as the sheet's name), then `lines` of text,
/// then the table of `columns` with `rows` of text (`None` for a cell left
/// to write in), and `blank_rows` empty rows below them. The first column
/// numbers the rows; `rows` give the cells of the others.
pub struct Form<'a> {
    pub title: &'a str,
    pub lines: &'a [String],
    pub columns: &'a [Column],
    pub rows: &'a [Vec<Option<&'a str>>],
    pub blank_rows: usize,
}

/// One cell of a form's row.
#[derive(Clone, Copy)]
enum FormCell<'a> {
    Empty,
    Number(usize),
    Text(&'a str),
}

impl Form<'_> {
    /// The workbook's bytes.
    pub fn to_xlsx(&self) -> io::Result<Vec<u8>> {
        let sheet = sheet_name(self.title, 1);
        let header_row = self.lines.len() + 3;
        let workbook = format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="{}" sheetId="1" r:id="rId1"/></sheets><definedNames><definedName name="_xlnm.Print_Titles" localSheetId="0">{}</definedName></definedNames></workbook>"#,
            escape(&sheet),
            escape(&format!("'{}'!${header_row}:${header_row}", sheet.replace('\'', "''"))),
        );
        let options = SimpleFileOptions::default();
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        let worksheet = self.worksheet();
        for (name, xml) in [
            ("[Content_Types].xml", CONTENT_TYPES),
            ("_rels/.rels", PACKAGE_RELS),
            ("xl/workbook.xml", workbook.as_str()),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
            ("xl/styles.xml", STYLES),
            ("xl/worksheets/sheet1.xml", worksheet.as_str()),
        ] {
            zip.start_file(name, options)?;
            zip.write_all(xml.as_bytes())?;
        }
        Ok(zip.finish()?.into_inner())
    }

    fn worksheet(&self) -> String {
        let last_column = column_name(self.columns.len().max(1) - 1);
        let mut xml = String::from(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetPr><pageSetUpPr fitToPage="1"/></sheetPr><sheetViews><sheetView workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15"/><cols>"#,
        );
        for (i, column) in self.columns.iter().enumerate() {
            let n = i + 1;
            let width = column.width + 2;
            xml.push_str(&format!(r#"<col min="{n}" max="{n}" width="{width}" customWidth="1"/>"#));
        }
        xml.push_str("</cols><sheetData>");
        let mut r = 1;
        xml.push_str(&row(r, None, &[(style::TITLE, FormCell::Text(self.title))]));
        // Merged cells do not grow with their text in any spreadsheet: each
        // line's height is set from its length against the table's width.
        let width: usize = self.columns.iter().map(|c| c.width + 2).sum();
        for line in self.lines {
            r += 1;
            let wraps = line.chars().count().div_ceil(width.max(1)).max(1) as u32;
            xml.push_str(&row(
                r,
                Some(LINE_HEIGHT * wraps),
                &[(style::LINE, FormCell::Text(line))],
            ));
        }
        // An empty row between the lines and the table.
        r += 2;
        let header: Vec<(u8, FormCell<'_>)> =
            self.columns.iter().map(|c| (style::TABLE_HEADER, FormCell::Text(&c.header))).collect();
        xml.push_str(&row(r, Some(HEADER_HEIGHT), &header));
        let blank = vec![None; self.columns.len().saturating_sub(1)];
        let blanks = (1..=self.blank_rows).map(|_| &blank);
        for (number, cells) in self.rows.iter().chain(blanks).enumerate() {
            r += 1;
            let mut styled = vec![(style::TABLE_NUMBER, FormCell::Number(number + 1))];
            styled.extend(
                cells
                    .iter()
                    .map(|cell| (style::TABLE_TEXT, cell.map_or(FormCell::Empty, FormCell::Text))),
            );
            xml.push_str(&row(r, Some(ROW_HEIGHT), &styled));
        }
        xml.push_str("</sheetData>");
        // The title and the lines span the table's width, so that a long
        // venue does not widen the first column.
        let spans = 1 + self.lines.len();
        xml.push_str(&format!(r#"<mergeCells count="{spans}">"#));
        for r in 1..=spans {
            xml.push_str(&format!(r#"<mergeCell ref="A{r}:{last_column}{r}"/>"#));
        }
        xml.push_str(
            r#"</mergeCells><printOptions horizontalCentered="1"/><pageMargins left="0.5" right="0.5" top="0.6" bottom="0.6" header="0.3" footer="0.3"/><pageSetup paperSize="9" orientation="portrait" fitToWidth="1" fitToHeight="0"/><headerFooter><oddFooter>&amp;C&amp;P / &amp;N</oddFooter></headerFooter></worksheet>"#,
        );
        xml
    }
}

/// Row `r` of styled cells, from column A on; `height` in points.
fn row(r: usize, height: Option<u32>, cells: &[(u8, FormCell<'_>)]) -> String {
    let height = height.map(|h| format!(r#" ht="{h}" customHeight="1""#)).unwrap_or_default();
    let mut xml = format!(r#"<row r="{r}"{height}>"#);
    for (column, (style, cell)) in cells.iter().enumerate() {
        let at = format!("{}{r}", column_name(column));
        let s = if *style == 0 { String::new() } else { format!(r#" s="{style}""#) };
        xml.push_str(&match cell {
            // An empty cell is still written, for its border.
            FormCell::Empty => format!(r#"<c r="{at}"{s}/>"#),
            FormCell::Number(n) => format!(r#"<c r="{at}"{s}><v>{n}</v></c>"#),
            FormCell::Text(text) => format!(
                r#"<c r="{at}" t="inlineStr"{s}><is><t xml:space="preserve">{}</t></is></c>"#,
                escape(text)
            ),
        });
    }
    xml.push_str("</row>");
    xml
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn part(xlsx: &[u8], name: &str) -> String {
        let mut archive = zip::ZipArchive::new(Cursor::new(xlsx)).unwrap();
        let mut text = String::new();
        archive.by_name(name).unwrap().read_to_string(&mut text).unwrap();
        text
    }

    #[test]
    fn a_form_is_laid_out_for_an_a4_page_with_its_header_on_every_page() {
        let columns = [Column::new("No.", 4), Column::new("Name", 20), Column::new("Sign", 20)];
        let rows = vec![vec![Some("Lê Thị <B>"), None]];
        let lines = ["Venue: Hall".to_owned(), "Time: 08:00".to_owned()];
        let form = Form {
            title: "Sign-in sheet",
            lines: &lines,
            columns: &columns,
            rows: &rows,
            blank_rows: 2,
        };
        let xlsx = form.to_xlsx().unwrap();
        let sheet = part(&xlsx, "xl/worksheets/sheet1.xml");
        assert!(sheet.contains(r#"paperSize="9" orientation="portrait""#));
        assert!(sheet.contains("Lê Thị &lt;B&gt;"));
        // Title, two lines, a gap, the header on row 5, then one person
        // and two blank rows, numbered 1 to 3 and bordered.
        assert!(sheet.contains(r#"<row r="5" ht="32""#));
        assert!(sheet.contains(r#"<c r="A8" s="4"><v>3</v></c>"#));
        assert!(sheet.contains(r#"<c r="C8" s="3"/>"#));
        assert!(!sheet.contains(r#"<row r="9""#));
        assert!(sheet.contains(r#"<mergeCell ref="A3:C3"/>"#));
        let workbook = part(&xlsx, "xl/workbook.xml");
        assert!(workbook.contains("'Sign-in sheet'!$5:$5"));
    }
}
