//! The embedding step (only with a sentence-embedding model): new items are
//! embedded on a blocking thread before any lock is taken, since the model is
//! the costly part of dedup and the store's lock serialises every source.

use super::dedup::body_text;
use super::Context;
use crate::store::{item_key, FetchRecord};

/// With an embedding model, embeds the new items and hands the embeddings to
/// the dedup engine for the store write that follows.
pub async fn embed_new_items(ctx: &Context, source_id: i64, record: &FetchRecord) {
    // Without a model (always so in a build without `embed`), no trip
    // through the store's lock.
    if ctx.config.dedup.embedding_model.is_none() {
        return;
    }
    let Some(dedup) = ctx.dedup.clone() else {
        return;
    };
    let Some(model) = dedup.embedder() else {
        return;
    };
    let FetchRecord::Parsed { items, .. } = record else {
        return;
    };
    let Ok(known) = ctx.store.call(move |s| s.known_keys(source_id)).await else {
        return;
    };
    // Texts are embedded only when their weight is above 0 (the engine's rule).
    let texts = ctx.config.dedup.embedding_text_weight > 0.0;
    let inputs: Vec<(String, String)> = items
        .iter()
        .filter(|i| item_key(i).is_some_and(|k| !known.contains(&k)))
        .map(|i| {
            let text = body_text(i.content.clone(), i.summary.clone());
            (i.title.clone().unwrap_or_default(), text)
        })
        .filter(|(_, text)| texts || text.trim().is_empty())
        .collect();
    if inputs.is_empty() {
        return;
    }
    let done = tokio::task::spawn_blocking(move || {
        inputs
            .into_iter()
            .filter_map(|(title, text)| {
                let e = model.embed(&title, &text).ok()?;
                Some((title, text, e))
            })
            .collect::<Vec<_>>()
    })
    .await;
    if let Ok(done) = done {
        // The engine may be busy with another source's store write: wait off
        // the async workers.
        let _ = tokio::task::spawn_blocking(move || dedup.remember_embeddings(done)).await;
    }
}
