//! A stable surface for snapshot tests of your own APIs.
//!
//! Check an API file with [`check_named`] (it names the file in the report
//! by a name you choose, so the snapshot does not depend on where the
//! repository is checked out), then snapshot one of the report's stable
//! renderings:
//!
//! * [`Report::snapshot`]: the verdict and attacks, then the knowledge set;
//!   the format of this repository's own `snapshots/apis/`;
//! * [`Report::attacks`] (also `Display for Report`): the verdict, every
//!   secret's status and shortest attack, what the verdict rests on;
//! * [`Report::knowledge_set`]: the saturated knowledge set, one printed term
//!   a line, shorter terms first, then by text.
//!
//! None of them holds a timing or anything else that varies between runs:
//! the same API file and settings give the same bytes.
//!
//! ```no_run
//! use apisat::verdict::Settings;
//!
//! // In a test of your crate (with `insta` in [dev-dependencies]):
//! let report = apisat::snapshot::check_named(
//!     "apis/my_hsm.yaml".as_ref(),
//!     "my_hsm.yaml",
//!     Settings::default(),
//! )
//! .unwrap_or_else(|failure| panic!("{failure}"));
//! insta::assert_snapshot!(report.snapshot().to_string());
//! // Or only the knowledge set, or only the verdict and attacks:
//! insta::assert_snapshot!("knowledge", report.knowledge_set().to_string());
//! insta::assert_snapshot!("attacks", report.attacks().to_string());
//! ```

use std::fmt;
use std::path::Path;

use crate::analysis::verdict::{Report, Settings};
use crate::analysis::LoadFailure;
use crate::front::diagnostic::render_all;
use crate::report;

/// Checks an API file like [`crate::analysis::check_file`], and names the file
/// `name` in the report (the report otherwise holds the path as given).
pub fn check_named(path: &Path, name: &str, settings: Settings) -> Result<Report, LoadFailure> {
    let checked = crate::analysis::check_file(path, settings)?;
    let mut report = checked.report;
    report.file = name.to_string();
    Ok(report)
}

/// The knowledge set, one printed term a line, in canonical order.
#[derive(Clone, Copy, Debug)]
pub struct KnowledgeSet<'a>(&'a Report);

/// The verdict, each secret's status and shortest attack, and what the
/// verdict rests on: the text `apisat check` prints.
#[derive(Clone, Copy, Debug)]
pub struct Attacks<'a>(&'a Report);

/// [`Attacks`], a `--- knowledge (N terms) ---` line, then [`KnowledgeSet`].
#[derive(Clone, Copy, Debug)]
pub struct Snapshot<'a>(&'a Report);

impl Report {
    /// The knowledge set, for a snapshot.
    pub fn knowledge_set(&self) -> KnowledgeSet<'_> {
        KnowledgeSet(self)
    }

    /// The verdict and attacks, for a snapshot.
    pub fn attacks(&self) -> Attacks<'_> {
        Attacks(self)
    }

    /// The verdict and attacks, then the knowledge set, for a snapshot.
    pub fn snapshot(&self) -> Snapshot<'_> {
        Snapshot(self)
    }
}

impl fmt::Display for KnowledgeSet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&report::knowledge(self.0))
    }
}

impl fmt::Display for Attacks<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&report::text(self.0))
    }
}

impl fmt::Display for Snapshot<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\n--- knowledge ({}) ---\n{}",
            self.0.attacks(),
            crate::style::plural(self.0.knowledge.len() as u64, "term"),
            self.0.knowledge_set()
        )
    }
}

/// The same text as [`Report::attacks`].
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.attacks().fmt(f)
    }
}

/// Every diagnostic, rendered with its source line when the file was read.
impl fmt::Display for LoadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render_all(&self.diagnostics, self.source.as_deref()))
    }
}
