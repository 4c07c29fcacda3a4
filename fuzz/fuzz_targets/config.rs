//! Any text given as feeds.toml yields a Config or line-numbered errors, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match feedsieve::config::Config::parse(text, std::path::Path::new("/fuzz/feeds.toml")) {
            Ok(_) => {}
            Err(errors) => {
                // Rendering the errors (line/column arithmetic) must not panic either.
                let _ = errors.to_string();
            }
        }
    }
});
