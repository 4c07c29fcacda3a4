//! What is wrong with the running daemon, in words: stores that fail (a full
//! disk), publishing that fails, a database file that vanished, a stop in
//! progress. `/healthz`, `/readyz` and `/status` show it; monitoring alerts on it.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// One kind of failure that repeats until something succeeds.
#[derive(Debug, Clone)]
struct Repeated {
    since: DateTime<Utc>,
    times: u64,
    last: String,
}

impl Repeated {
    fn describe(&self, what: &str) -> String {
        format!(
            "{what} failed {} time{} in a row since {}: {}",
            self.times,
            if self.times == 1 { "" } else { "s" },
            self.since.format("%Y-%m-%d %H:%M:%S UTC"),
            self.last
        )
    }
}

#[derive(Debug, Default)]
struct State {
    store: Option<Repeated>,
    /// Sources whose last store write failed.
    store_failing: HashSet<i64>,
    /// Why the configured sources could not be recorded at start.
    sources_unrecorded: Option<String>,
    publish: Option<Repeated>,
    database_lost: Option<String>,
    /// Why saving a copy of the lost database failed, while it has not worked.
    rescue_failed: Option<String>,
    /// Why the edited config file is not applied.
    config_rejected: Option<String>,
    /// Each source's last fetch: `None` when it worked, else its name and error.
    fetches: HashMap<i64, Option<(String, String)>>,
    /// The sources of the config in force, once a reload said which; what a
    /// removed source's fetch still running reports afterwards is ignored.
    active: Option<HashSet<i64>>,
    stopping: bool,
}

/// The daemon's health, shared by the scheduler (which reports) and the server
/// (which shows it).
#[derive(Debug, Default)]
pub struct Health(Mutex<State>);

/// The health as `/healthz` and `/readyz` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthReport {
    /// "ok", "degraded" or "stopping".
    pub status: &'static str,
    /// What is wrong, one sentence each.
    pub problems: Vec<String>,
    /// What needs attention but leaves the daemon working (it stays ready):
    /// an edited config that was rejected, every source failing.
    pub warnings: Vec<String>,
}

impl HealthReport {
    /// True when nothing is wrong and the daemon is not stopping.
    pub fn ready(&self) -> bool {
        self.status == "ok"
    }
}

fn failed(slot: &mut Option<Repeated>, message: &str) {
    let entry = slot.get_or_insert_with(|| Repeated {
        since: Utc::now(),
        times: 0,
        last: String::new(),
    });
    entry.times += 1;
    entry.last = message.to_string();
}

impl State {
    /// Whether `source` is in the config in force (any source before the
    /// first reload).
    fn is_active(&self, source: i64) -> bool {
        self.active.as_ref().is_none_or(|a| a.contains(&source))
    }
}

impl Health {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fetch of `source` could not be stored.
    pub fn store_failed(&self, source: i64, message: &str) {
        let mut s = self.state();
        if !s.is_active(source) {
            return;
        }
        failed(&mut s.store, message);
        s.store_failing.insert(source);
    }

    /// A fetch of `source` was stored; `grew` when it added or changed items.
    /// A write that grew the database shows it takes writes again; a small
    /// one (fetch state only) clears only its own source.
    pub fn store_ok(&self, source: i64, grew: bool) {
        let mut s = self.state();
        s.store_failing.remove(&source);
        if grew || s.store_failing.is_empty() {
            s.store = None;
            s.store_failing.clear();
        }
    }

    /// The configured sources could not be recorded (None: now they are).
    pub fn sources_unrecorded(&self, why: Option<String>) {
        self.state().sources_unrecorded = why;
    }

    /// Rendering or writing the feeds failed.
    pub fn publish_failed(&self, message: &str) {
        failed(&mut self.state().publish, message);
    }

    /// The feeds were published.
    pub fn publish_ok(&self) {
        self.state().publish = None;
    }

    /// The database file is gone (or another file took its place); says why.
    pub fn database_lost(&self, why: &str) {
        self.state().database_lost = Some(why.to_string());
    }

    /// Saving a copy of the lost database failed (`Some(why)`), or worked.
    pub fn rescue_failed(&self, why: Option<String>) {
        self.state().rescue_failed = why;
    }

    /// True once the database file was found gone.
    pub fn is_database_lost(&self) -> bool {
        self.state().database_lost.is_some()
    }

    /// The edited config file was rejected, and why (None: the file as it is
    /// now is the one running).
    pub fn config_rejected(&self, why: Option<String>) {
        self.state().config_rejected = why;
    }

    /// A source was fetched (and stored): `failure` is its name and error when
    /// that failed. When every source fails, the network (or DNS, or a proxy)
    /// is the likelier culprit than the sources, and that is worth a warning.
    pub fn fetched(&self, source: i64, failure: Option<(&str, &str)>) {
        let failure = failure.map(|(name, e)| (name.to_string(), e.to_string()));
        let mut s = self.state();
        if s.is_active(source) {
            s.fetches.insert(source, failure);
        }
    }

    /// Forgets what was recorded about sources no longer in `active` (removed
    /// from the config): a removed source that still worked no longer hides
    /// that every other one fails, and its failed writes no longer count.
    pub fn keep_sources(&self, active: HashSet<i64>) {
        let mut s = self.state();
        s.fetches.retain(|id, _| active.contains(id));
        let had_failing = !s.store_failing.is_empty();
        s.store_failing.retain(|id| active.contains(id));
        if had_failing && s.store_failing.is_empty() {
            s.store = None;
        }
        s.active = Some(active);
    }

    /// The daemon was asked to stop.
    pub fn stopping(&self) {
        self.state().stopping = true;
    }

    /// The current health.
    pub fn report(&self) -> HealthReport {
        let s = self.state();
        let mut problems = Vec::new();
        if let Some(why) = &s.database_lost {
            problems.push(match &s.rescue_failed {
                None => format!("{why}; nothing is fetched or stored until feedsieve is restarted"),
                Some(e) => format!(
                    "{why}, and saving a copy failed ({e}): the history is only in this process now, \
                     so do not stop it; make room or restore the database's folder, and a copy is tried again every minute"
                ),
            });
        }
        if let Some(why) = &s.sources_unrecorded {
            problems.push(format!(
                "the configured sources could not be recorded ({why}); the sources recorded before are fetched until the config is applied again"
            ));
        }
        if let Some(r) = &s.store {
            problems.push(r.describe("storing fetches"));
        }
        if let Some(r) = &s.publish {
            problems.push(r.describe("publishing the feeds"));
        }
        let status = if s.stopping {
            "stopping"
        } else if problems.is_empty() {
            "ok"
        } else {
            "degraded"
        };
        let mut warnings: Vec<String> = s
            .config_rejected
            .iter()
            .map(|why| {
                format!("the edited config was rejected, still running on the last good one: {why}")
            })
            .collect();
        // A source whose store write failed is the database's problem (above),
        // not the network's.
        let network = !s.fetches.keys().any(|id| s.store_failing.contains(id));
        let mut failing = s.fetches.values().map(Option::as_ref);
        let every = failing
            .next()
            .filter(|_| failing.all(|f| f.is_some()) && network);
        if let Some(Some((name, e))) = every {
            warnings.push(format!(
                "every source failed its last fetch ({}; {name}: {e}): check this machine's \
                 network, DNS and proxy",
                crate::util::count(s.fetches.len(), "source")
            ));
        }
        HealthReport {
            status,
            problems,
            warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_counted_until_a_success_clears_them() {
        let h = Health::default();
        assert_eq!(h.report().status, "ok");
        h.publish_failed("disk full");
        h.publish_failed("disk full");
        let r = h.report();
        assert_eq!(r.status, "degraded");
        assert!(r.problems[0].starts_with("publishing the feeds failed 2 times in a row"));
        assert!(r.problems[0].ends_with("disk full"));
        h.publish_ok();
        assert!(h.report().ready());
        h.store_failed(1, "database or disk is full");
        h.store_failed(2, "database or disk is full");
        h.store_ok(1, false);
        assert!(
            h.report().problems[0].contains("disk is full"),
            "source 2 still fails"
        );
        h.store_ok(3, true);
        assert!(
            h.report().ready(),
            "a write that grew the database clears it"
        );
        h.database_lost("the database file x was deleted");
        assert!(h.report().problems[0].contains("restarted"));
        h.rescue_failed(Some("No such file or directory".into()));
        assert!(h.report().problems[0].contains("do not stop it"));
        h.rescue_failed(None);
        assert!(h.report().problems[0].contains("restarted"));
        h.stopping();
        assert_eq!(h.report().status, "stopping");
    }

    #[test]
    fn a_rejected_config_warns_without_degrading() {
        let h = Health::default();
        h.config_rejected(Some("feeds.toml:3: unknown key `intervall`".into()));
        let r = h.report();
        assert!(r.ready(), "{r:?}");
        assert!(r.warnings[0].contains("intervall"), "{r:?}");
        h.config_rejected(None);
        assert!(h.report().warnings.is_empty());
    }

    #[test]
    fn a_full_database_is_not_blamed_on_the_network() {
        let h = Health::default();
        h.store_failed(3, "database or disk is full");
        h.fetched(3, Some(("F3", "database: database or disk is full")));
        let r = h.report();
        assert!(r.problems[0].contains("disk is full"), "{r:?}");
        assert!(r.warnings.is_empty(), "{r:?}");
    }

    #[test]
    fn every_source_failing_warns_and_one_success_clears_it() {
        let h = Health::default();
        h.fetched(1, Some(("NPR", "cannot resolve host feeds.npr.org")));
        let r = h.report();
        assert!(r.ready(), "{r:?}");
        assert!(r.warnings[0].contains("every source failed"), "{r:?}");
        assert!(
            r.warnings[0].contains("1 source; NPR: cannot resolve"),
            "{r:?}"
        );
        h.fetched(2, None);
        assert!(h.report().warnings.is_empty(), "one source works");
        h.fetched(2, Some(("BBC", "timed out")));
        assert!(h.report().warnings[0].contains("(2 sources; "));
        // The one that still works is removed from the config.
        h.fetched(2, None);
        h.keep_sources([1].into());
        assert!(h.report().warnings[0].contains("(1 source; NPR"));
        // Its fetch that was still running reports after the reload.
        h.fetched(2, None);
        assert!(h.report().warnings[0].contains("(1 source; NPR"));
    }

    #[test]
    fn a_removed_sources_failed_writes_no_longer_count() {
        let h = Health::default();
        h.store_failed(7, "database is locked");
        assert!(!h.report().ready());
        h.keep_sources([1, 2].into());
        assert!(h.report().ready(), "{:?}", h.report());
        h.store_failed(7, "database is locked");
        assert!(h.report().ready(), "a removed source's late write counted");
    }
}
