//! Every integration test in one binary: each former `tests/*.rs` file is a module
//! here, so axum, reqwest and the bundled SQLite are linked once, not once per file.
//!
//! The modules share one process and their tests run in parallel, so none may
//! change process-wide state (environment, current directory, a global tracing
//! subscriber); a port that a child daemon will listen on comes from
//! [`common::free_port`], which never hands out the same one twice.

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod commands;
mod content_faults;
mod crash_safety;
mod daemon;
mod dedup;
// Sentence embeddings exist only with the `embed` feature (the module says so too).
#[cfg(feature = "embed")]
mod dedup_embed;
mod extract;
mod first_hour;
mod full_text;
mod hostile;
mod machine;
mod pages;
mod pipeline;
mod poisoned;
mod read;
mod readers;
mod reload;
mod sources;
mod story_pages;
mod templates;
