//! Tables as files a spreadsheet opens: CSV and XLSX, written row by row to
//! any `Write`, so that a file of any length needs the memory of one row.

mod csv;
pub mod form;
pub mod read;
mod xlsx;

use std::io::{self, Write};

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::id::Id;

pub use csv::FORMULA_STARTS;

/// One cell of a row.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell<'a> {
    Empty,
    Text(&'a str),
    /// An id, shown in its canonical spelling.
    Id(Id),
    Count(i64),
    /// A share from 0 to 1, shown as a percentage in XLSX.
    Ratio(f64),
    Day(NaiveDate),
    /// A local wall-clock time.
    Time(NaiveDateTime),
}

impl From<Option<Id>> for Cell<'_> {
    fn from(id: Option<Id>) -> Self {
        id.map_or(Cell::Empty, Cell::Id)
    }
}

impl<'a> From<Option<&'a str>> for Cell<'a> {
    fn from(text: Option<&'a str>) -> Self {
        text.map_or(Cell::Empty, Cell::Text)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// UTF-8 with a byte-order mark (so that Excel reads Vietnamese), comma
    /// separated, one header row. Text that a spreadsheet would run as a
    /// formula (beginning with `=`, `+`, `-`, `@`, a tab or a carriage
    /// return) is prefixed with `'`.
    Csv,
    /// An Excel workbook with a header row; numbers, days and times are
    /// typed cells. Past Excel's 1,048,576 rows a sheet, the rows go on to
    /// a next sheet, with the header again.
    Xlsx,
}

impl FileFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Xlsx => "xlsx",
        }
    }
}

/// A column of a table: its header, and how many characters wide its
/// values are (XLSX sets the column's width from it; CSV has none).
#[derive(Clone, Debug)]
pub struct Column {
    pub header: String,
    pub width: usize,
}

impl Column {
    /// A column as wide as its header or `width`, whichever is wider.
    pub fn new(header: impl Into<String>, width: usize) -> Self {
        let header = header.into();
        let width = width.max(header.chars().count());
        Self { header, width }
    }
}

impl Cell<'_> {
    /// How many characters the cell shows: a guide to its column's width.
    pub fn shown_width(&self) -> usize {
        match self {
            Cell::Empty => 0,
            Cell::Text(text) => text.chars().count(),
            Cell::Id(_) => "01234567-89ab-cdef-0123-456789abcdef".len(),
            Cell::Count(n) => n.to_string().len(),
            Cell::Ratio(_) => "100.00%".len(),
            Cell::Day(_) => "2023-10-02".len(),
            Cell::Time(_) => "2023-10-02 07:30".len(),
        }
    }
}

/// A sheet being written: the header first, then rows, then [`Sheet::finish`].
pub enum Sheet<W: Write> {
    Csv(csv::CsvSheet<W>),
    Xlsx(Box<xlsx::XlsxSheet<W>>),
}

impl<W: Write> Sheet<W> {
    /// Starts a file with its header row. `title` names the sheet in XLSX
    /// (at most 31 characters, as Excel requires).
    pub fn start(format: FileFormat, out: W, title: &str, columns: &[Column]) -> io::Result<Self> {
        Ok(match format {
            FileFormat::Csv => {
                let header: Vec<&str> = columns.iter().map(|c| c.header.as_str()).collect();
                Self::Csv(csv::CsvSheet::start(out, &header)?)
            }
            FileFormat::Xlsx => Self::Xlsx(Box::new(xlsx::XlsxSheet::start(out, title, columns)?)),
        })
    }

    pub fn row(&mut self, cells: &[Cell<'_>]) -> io::Result<()> {
        match self {
            Self::Csv(sheet) => sheet.row(cells),
            Self::Xlsx(sheet) => sheet.row(cells),
        }
    }

    /// A last row below the table (its totals): in XLSX, outside the
    /// autofilter, so that sorting the table leaves it at the bottom.
    pub fn footer(&mut self, cells: &[Cell<'_>]) -> io::Result<()> {
        match self {
            Self::Csv(sheet) => sheet.row(cells),
            Self::Xlsx(sheet) => sheet.footer(cells),
        }
    }

    /// Offers `values` as a drop-down list in `column` for `rows` rows
    /// under the header, from a sheet named `title` (XLSX only; a CSV has
    /// no such thing).
    pub fn offer_choices(&mut self, title: &str, column: usize, values: &[&str], rows: u32) {
        if let Self::Xlsx(sheet) = self {
            sheet.offer_choices(title, column, values, rows);
        }
    }

    /// Ends the file and gives back the writer, flushed.
    pub fn finish(self) -> io::Result<W> {
        match self {
            Self::Csv(sheet) => sheet.finish(),
            Self::Xlsx(sheet) => sheet.finish(),
        }
    }
}

/// The start of a CSV file whose rows someone else writes (PostgreSQL's
/// `COPY`): the byte-order mark and the header row, not flushed, so that
/// the file is not under way until its first rows are.
pub fn csv_start<W: Write>(out: W, columns: &[Column]) -> io::Result<W> {
    let header: Vec<&str> = columns.iter().map(|c| c.header.as_str()).collect();
    Ok(csv::CsvSheet::start(out, &header)?.into_writer())
}
