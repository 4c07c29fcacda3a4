//! Sentence embeddings for dedup (cargo feature `embed`): all-MiniLM-L6-v2 run
//! in-process with candle, from files in a local folder (nothing is downloaded).
//!
//! An article is embedded from its title and the start of its text (at most
//! [`MAX_TOKENS`] tokens), mean-pooled over tokens and L2-normalised, as
//! sentence-transformers does for this model, so that a dot product is a cosine.
//! Without the feature, [`Embedder`] has no values and [`Embedder::load`] says
//! how to get one.

use std::path::{Path, PathBuf};

/// Tokens read per article (the model was trained on at most 256).
pub const MAX_TOKENS: usize = 256;
/// Characters of body text tokenized after the title: more than 256 tokens'
/// worth, so truncation (not this cut) decides where the input ends.
const TEXT_CHARS: usize = 2000;
/// Files the model folder must hold.
pub const MODEL_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// Why the embedding model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The binary was built without the `embed` feature.
    #[error(
        "embedding_model is set but this feedsieve was built without the `embed` feature \
         (rebuild with `cargo build --release --features embed`, or remove the key)"
    )]
    NotBuilt,
    /// A model file is missing or unreadable.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The files are there but are not a BERT model and tokenizer this code can run.
    #[error("{}: {message}", path.display())]
    Model {
        /// The file or folder at fault.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Tokenizing or running the model failed on one input.
    #[error("embedding failed: {0}")]
    Run(String),
}

/// Checks that `dir` holds the model files, without loading them (for `check`).
pub fn check_model_dir(dir: &Path) -> Result<(), String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a folder", dir.display()));
    }
    let missing: Vec<&str> = MODEL_FILES
        .iter()
        .copied()
        .filter(|f| !dir.join(f).is_file())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} lacks {} (see the README: sentence embeddings)",
            dir.display(),
            missing.join(", ")
        ))
    }
}

/// The text the model reads: the title, then the start of the body.
pub fn model_input(title: &str, text: &str) -> String {
    let title = title.trim();
    let text = text.trim();
    let cut = text
        .char_indices()
        .nth(TEXT_CHARS)
        .map_or(text.len(), |(i, _)| i);
    let body = &text[..cut];
    match (title.is_empty(), body.is_empty()) {
        (_, true) => title.to_string(),
        (true, false) => body.to_string(),
        (false, false) => format!("{title}. {body}"),
    }
}

/// LSH bands per embedding: with [`LSH_BITS`] bits each, two headlines at
/// cosine 0.5 share a bucket in most cases, unrelated ones rarely.
const LSH_BANDS: u64 = 16;
/// Random hyperplanes (bits) per band.
const LSH_BITS: u64 = 6;
/// Newest stories read per LSH bucket: bounds the cost per article.
pub const BUCKET_READ: usize = 32;

/// Random-hyperplane LSH keys of an embedding (none for an empty one). The
/// hyperplanes are ±1 vectors drawn from a fixed hash, so keys are stable
/// across runs and need no stored state.
pub fn lsh_keys(e: &[f32]) -> Vec<u64> {
    if e.is_empty() {
        return Vec::new();
    }
    (0..LSH_BANDS)
        .map(|band| {
            let mut bits = 0u64;
            for bit in 0..LSH_BITS {
                let plane = band * LSH_BITS + bit;
                let side: f32 = e
                    .iter()
                    .enumerate()
                    .map(|(d, x)| {
                        if splitmix(plane << 32 | d as u64) & 1 == 0 {
                            *x
                        } else {
                            -*x
                        }
                    })
                    .sum();
                bits = bits << 1 | u64::from(side >= 0.0);
            }
            band << 32 | bits
        })
        .collect()
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Dot product of two embeddings (a cosine when both are normalised).
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum()
}

#[cfg(feature = "embed")]
mod model {
    use std::path::Path;

    use candle_core::{DType, Device, Tensor};
    use candle_nn::VarBuilder;
    use candle_transformers::models::bert::{BertModel, Config};
    use tokenizers::{Tokenizer, TruncationParams};

    use super::{model_input, EmbedError, MAX_TOKENS};

    /// A loaded sentence-embedding model; shared by reference, no lock needed.
    pub struct Embedder {
        model: BertModel,
        tokenizer: Tokenizer,
        device: Device,
    }

    impl std::fmt::Debug for Embedder {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Embedder").finish_non_exhaustive()
        }
    }

    fn read(path: &Path) -> Result<Vec<u8>, EmbedError> {
        std::fs::read(path).map_err(|source| EmbedError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    fn bad(path: &Path, e: impl std::fmt::Display) -> EmbedError {
        EmbedError::Model {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }

    impl Embedder {
        /// Loads config.json, tokenizer.json and model.safetensors from `dir`.
        pub fn load(dir: &Path) -> Result<Embedder, EmbedError> {
            let device = Device::Cpu;
            let config_path = dir.join("config.json");
            let config: Config =
                serde_json::from_slice(&read(&config_path)?).map_err(|e| bad(&config_path, e))?;
            let tokenizer_path = dir.join("tokenizer.json");
            let mut tokenizer = Tokenizer::from_bytes(read(&tokenizer_path)?)
                .map_err(|e| bad(&tokenizer_path, e))?;
            // The file pads and cuts at 128 for training; one text at a time
            // needs no padding, and the model reads up to 256 tokens.
            tokenizer.with_padding(None);
            tokenizer
                .with_truncation(Some(TruncationParams {
                    max_length: MAX_TOKENS,
                    ..Default::default()
                }))
                .map_err(|e| bad(&tokenizer_path, e))?;
            let weights_path = dir.join("model.safetensors");
            // Read, not mmapped: mapping a file needs unsafe code.
            let vb =
                VarBuilder::from_buffered_safetensors(read(&weights_path)?, DType::F32, &device)
                    .map_err(|e| bad(&weights_path, e))?;
            let model = BertModel::load(vb, &config).map_err(|e| bad(&weights_path, e))?;
            tracing::info!(dir = %dir.display(), "sentence-embedding model loaded");
            Ok(Embedder {
                model,
                tokenizer,
                device,
            })
        }

        /// The normalised embedding of an article (title, then start of text).
        pub fn embed(&self, title: &str, text: &str) -> Result<Vec<f32>, EmbedError> {
            let input = model_input(title, text);
            let run = |e: &dyn std::fmt::Display| EmbedError::Run(e.to_string());
            let enc = self.tokenizer.encode(input, true).map_err(|e| run(&e))?;
            let ids = enc.get_ids();
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let n = ids.len();
            let ids = Tensor::from_slice(ids, (1, n), &self.device).map_err(|e| run(&e))?;
            let types = ids.zeros_like().map_err(|e| run(&e))?;
            let hidden = self
                .model
                .forward(&ids, &types, None)
                .map_err(|e| run(&e))?;
            // One unpadded text: mean pooling is the mean over all its tokens.
            let pooled = hidden
                .mean(1)
                .and_then(|t| t.squeeze(0))
                .and_then(|t| t.to_vec1::<f32>())
                .map_err(|e| run(&e))?;
            let norm = pooled.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm <= 1e-12 {
                return Ok(Vec::new());
            }
            Ok(pooled.into_iter().map(|x| x / norm).collect())
        }
    }
}

#[cfg(feature = "embed")]
pub use model::Embedder;

/// Stands in for the model in builds without the `embed` feature: no value exists.
#[cfg(not(feature = "embed"))]
#[derive(Debug)]
pub enum Embedder {}

#[cfg(not(feature = "embed"))]
impl Embedder {
    /// Always fails: the feature is off.
    pub fn load(_dir: &Path) -> Result<Embedder, EmbedError> {
        Err(EmbedError::NotBuilt)
    }

    /// Unreachable: no `Embedder` exists without the feature.
    pub fn embed(&self, _title: &str, _text: &str) -> Result<Vec<f32>, EmbedError> {
        match *self {}
    }
}

#[cfg(all(test, feature = "embed"))]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use super::*;
    use crate::dedup::{DedupArticle, DedupConfig, Engine, Layer};

    /// The model folder named by `FEEDSIEVE_EMBEDDING_MODEL`, or `None` (and a
    /// printed reason) when it is not there: CI has no weights and may not download.
    fn model() -> Option<Embedder> {
        let Some(dir) = std::env::var_os("FEEDSIEVE_EMBEDDING_MODEL").map(PathBuf::from) else {
            eprintln!("skipped: FEEDSIEVE_EMBEDDING_MODEL is not set (see the README)");
            return None;
        };
        if let Err(why) = check_model_dir(&dir) {
            eprintln!("skipped: {why}");
            return None;
        }
        Some(Embedder::load(&dir).unwrap())
    }

    #[test]
    fn the_model_loads_and_gives_unit_vectors() {
        let Some(m) = model() else { return };
        let e = m.embed("Norway raises interest rates", "").unwrap();
        assert_eq!(e.len(), 384);
        assert!((cosine(&e, &e) - 1.0).abs() < 1e-4);
        // A long text is cut, not refused.
        let long = "word ".repeat(5000);
        assert_eq!(m.embed("Title", &long).unwrap().len(), 384);
    }

    #[test]
    fn the_same_event_scores_higher_than_a_look_alike() {
        let Some(m) = model() else { return };
        let e = |t: &str| m.embed(t, "").unwrap();
        let a = e("Zelenskyy willing to forgo NATO bid in exchange for security guarantees");
        let same =
            e("Zelensky offers to drop Ukraine's NATO membership ambition for Western guarantees");
        let look_alike = e("Zelensky meets Macron and Merz in Paris to discuss drone production");
        let (s, l) = (cosine(&a, &same), cosine(&a, &look_alike));
        assert!(s > l + 0.1, "same event {s:.3}, look-alike {l:.3}");
    }

    #[test]
    fn prepare_uses_an_embedding_computed_outside_the_lock() {
        let Some(m) = model() else { return };
        let mut e = Engine::new(DedupConfig::default()).with_embedder(Arc::new(m));
        let mut fake = vec![0.0f32; 384];
        fake[0] = 1.0;
        e.remember_embedding("A headline", "", fake.clone());
        let a = DedupArticle {
            id: "1".into(),
            title: "A headline".into(),
            ..Default::default()
        };
        assert_eq!(e.prepare(&a).embedding, fake);
        // Taken once: the next time the model runs.
        assert_ne!(e.prepare(&a).embedding, fake);
    }

    #[test]
    fn the_engine_joins_paraphrased_headlines_with_embeddings() {
        let Some(m) = model() else { return };
        let mut e = Engine::new(DedupConfig::default()).with_embedder(Arc::new(m));
        let art = |id: &str, title: &str| DedupArticle {
            id: id.into(),
            title: title.into(),
            ..Default::default()
        };
        let a = e.assign(&art(
            "1",
            "Apple unveils a bigger iPhone with a sharper camera",
        ));
        let other = e.assign(&art(
            "2",
            "Heavy snow closes mountain pass between Bergen and Oslo",
        ));
        let b = e.assign(&art(
            "3",
            "New iPhone revealed: larger screen, better camera",
        ));
        assert_ne!(other.story, a.story);
        assert_eq!(b.story, a.story, "{b:?}");
        assert_eq!(b.layer, Layer::Similar);
    }
}
