//! feedsieve: a self-hosted news aggregator that republishes one clean combined feed.
//!
//! The stages, each a module, in the order data flows through them:
//! [`config`] → [`schedule`] → [`fetch`] → [`read`] → [`extract`] → [`dedup`] → [`store`] → [`publish`] → [`server`].
//! Each stage owns its settings type and knows only the types on its left and
//! right; [`config`] parses `feeds.toml` into those settings. [`extract`] and
//! [`dedup`] are pure (no network, no SQLite); [`store`] records decisions and
//! makes none. [`util`] holds the few helpers several stages share.
//!
//! [`pipeline`] is the only module that knows every stage: it runs one source
//! through them, step by step, and one cycle over all sources; [`daemon`] runs
//! cycles as sources fall due; [`sources`] adds sources and reads and writes
//! OPML; [`health`] says what is wrong with a running daemon; [`cli`] is the
//! command line.

#![deny(missing_docs)]

/// With the `jemalloc` feature, the allocator of every binary built on this
/// crate (daemon, CLI, examples, tests), so that benchmarks measure what the
/// daemon runs: the dedup window allocates and frees many small vectors across
/// the runtime's worker threads, where jemalloc costs about a fifth less CPU
/// than glibc's malloc (and about 10 MB more peak memory).
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

pub mod clean;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod dedup;
pub mod dedup_cli;
pub mod extract;
pub mod fetch;
pub mod health;
pub mod links_cli;
pub mod metrics;
pub mod pipeline;
pub mod publish;
pub mod read;
pub mod sanitize;
pub mod schedule;
pub mod server;
pub mod sources;
pub mod sources_cli;
pub mod store;
pub mod util;
