//! Stopping: once the daemon is asked to stop, no fetch or article download
//! starts, and those in flight get a grace period before they are cut short.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// Whether the pipeline is stopping, and when in-flight requests must give up.
#[derive(Clone)]
pub struct Stopping(Arc<watch::Sender<Option<Instant>>>);

impl Default for Stopping {
    fn default() -> Self {
        Stopping(Arc::new(watch::Sender::new(None)))
    }
}

impl Stopping {
    /// Starts stopping: nothing new starts, and what runs has `grace` to finish.
    /// Later calls keep the first deadline.
    pub fn begin(&self, grace: Duration) {
        self.0.send_if_modified(|deadline| {
            if deadline.is_some() {
                return false;
            }
            *deadline = Some(Instant::now() + grace);
            true
        });
    }

    /// True once stopping began: queued work must not start.
    pub fn is_stopping(&self) -> bool {
        self.0.borrow().is_some()
    }

    /// Resolves when the grace period after the stop is over (never, while
    /// nobody asks to stop).
    pub async fn grace_over(&self) {
        let mut rx = self.0.subscribe();
        let deadline = loop {
            if let Some(d) = *rx.borrow_and_update() {
                break d;
            }
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::time::sleep_until(deadline).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_grace_period_starts_at_the_first_stop() {
        let stop = Stopping::default();
        assert!(!stop.is_stopping());
        let not_yet = tokio::time::timeout(Duration::from_millis(20), stop.grace_over()).await;
        assert!(not_yet.is_err(), "no stop, no end of grace");
        stop.begin(Duration::ZERO);
        // A later, longer grace does not move the first deadline.
        stop.begin(Duration::from_secs(3600));
        assert!(stop.is_stopping());
        let over = tokio::time::timeout(Duration::from_secs(60), stop.grace_over()).await;
        assert!(over.is_ok());
    }
}
