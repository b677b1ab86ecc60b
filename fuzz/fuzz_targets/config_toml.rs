//! The config file (src/config): any TOML text, optionally with
//! `TONGDAI_*` environment overrides after a line `%%env` (one `NAME=value`
//! per line), through `config::parse` as `tongdai` loads it at start.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (toml, env) = match text.split_once("\n%%env\n") {
        Some((t, e)) => (t, e),
        None => (text, ""),
    };
    let env: Vec<(String, String)> = env
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    match tongdai::config::parse(Path::new("fuzz.toml"), toml, &env) {
        Ok(cfg) => {
            let _ = cfg.language();
        }
        Err(e) => {
            // The message is shown to the user: it must render.
            let _ = e.to_string();
        }
    }
});
