//! The statistics a caller asked for recently, kept while nothing changes.
//!
//! A province's table takes seconds to count, and officials ask for the same
//! one again and again around a reporting day. Each request first asks the
//! database whether anything was committed since (a [`CommitMark`]: no
//! counter row that writes would queue on), and gets the kept table only if
//! nothing was and no session has ended since it was counted (which moves
//! the attendance rate). So a kept table is never older than the last
//! commit, and a repeated request costs one short statement.

use std::sync::{Arc, Mutex};

use chrono::NaiveDateTime;
use chrono_tz::Tz;

use super::filter::ReportFilter;
use super::stats::{GroupKey, Stats};
use crate::db::{CommitMark, CommitWatch, DbConnection};
use crate::error::AppError;

/// How many tables are kept: a unit's coordinators and the admins asking
/// for a few groupings each. The least recently asked for goes first.
const KEPT_TABLES: usize = 32;

/// Tables longer than this are counted afresh each time, so that what is
/// kept stays within a few megabytes (a table by session and unit can
/// have a row per place).
const KEPT_ROWS: usize = 10_000;

pub struct StatsCache {
    watch: CommitWatch,
    /// The least recently used first.
    kept: Mutex<Vec<Kept>>,
}

struct Kept {
    filter: ReportFilter,
    group_by: Vec<GroupKey>,
    mark: CommitMark,
    stats: Arc<Stats>,
}

impl Kept {
    fn answers(&self, filter: &ReportFilter, group_by: &[GroupKey]) -> bool {
        self.filter == *filter && self.group_by == group_by
    }
}

impl StatsCache {
    pub fn new(watch: CommitWatch) -> Self {
        Self { watch, kept: Mutex::new(Vec::new()) }
    }

    /// The table for `filter` and `group_by` as of `now`: the kept one if
    /// it still holds, else counted afresh (and kept).
    pub fn stats(
        &self,
        conn: &mut DbConnection,
        filter: &ReportFilter,
        group_by: Vec<GroupKey>,
        now: NaiveDateTime,
        zone: Tz,
    ) -> Result<Arc<Stats>, AppError> {
        // Marked before counting: a commit that lands while the table is
        // counted changes the next mark, so the table is not kept past it.
        let mark = self.watch.mark(conn)?;
        if let Some(stats) = self.kept_table(filter, &group_by, &mark, now)? {
            return Ok(stats);
        }
        let stats = Arc::new(Stats::compute(conn, filter, group_by.clone(), now, zone)?);
        if stats.rows.len() > KEPT_ROWS {
            return Ok(stats);
        }
        let mut kept = self.lock()?;
        kept.retain(|k| !k.answers(filter, &group_by));
        if kept.len() >= KEPT_TABLES {
            kept.remove(0);
        }
        kept.push(Kept { filter: filter.clone(), group_by, mark, stats: stats.clone() });
        Ok(stats)
    }

    fn kept_table(
        &self,
        filter: &ReportFilter,
        group_by: &[GroupKey],
        mark: &CommitMark,
        now: NaiveDateTime,
    ) -> Result<Option<Arc<Stats>>, AppError> {
        let mut kept = self.lock()?;
        let Some(at) = kept.iter().position(|k| k.answers(filter, group_by)) else {
            return Ok(None);
        };
        let holds =
            kept[at].mark == *mark && kept[at].stats.holds_until.is_none_or(|end| now < end);
        if !holds {
            kept.remove(at);
            return Ok(None);
        }
        let entry = kept.remove(at);
        let stats = entry.stats.clone();
        kept.push(entry);
        Ok(Some(stats))
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Vec<Kept>>, AppError> {
        self.kept.lock().map_err(|_| AppError::internal("statistics cache", "its lock"))
    }
}
