//! Layers point one way (issue 16): this reads the crate's sources and
//! fails when a low layer reaches up into a feature.
//!
//! - `src/vcc_wire.rs` (the VCC push codec, the objectId frames) sits below
//!   `call/`: it imports none of the call core, the engine, the backends,
//!   the app, the switchboard, SIP, config;
//! - `src/call/**` and the other sans-IO cores (jitter buffer, mixer, time
//!   stretch, playout) use no async types: no `tokio` anywhere in them;
//! - `src/call/**` does not reach into the backends, the app, the control
//!   socket or the switchboard (it may use `sip::target`, a pure parser,
//!   and `config/`);
//! - `src/config/**` imports no feature module (`CONFIG_DEBT` is empty).
//!
//! The two debt lists are a ratchet: a new upward import fails, and so does
//! an entry that is no longer needed (remove it, so the list only shrinks).
//!
//! Paths are resolved the way rustc does: `crate::x::…`, `crate::{x::…}`,
//! and `super::…` chains counted from the file's own module.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Top-level modules that are features (or the engine) rather than leaves.
const FEATURES: &[&str] = &[
    "app",
    "backends",
    "call",
    "config",
    "control",
    "crm",
    "engine",
    "history",
    "media",
    "popup_feed",
    "sip",
    "store",
    "switchboard",
    "webrtc_media",
];

/// `src/config/**` imports of features that are still there today: none
/// (the keymap, theme, CRM and demo-cast settings moved into `config/`).
/// Kept so a debt, if one must be taken, is named here rather than hidden.
const CONFIG_DEBT: &[(&str, &str)] = &[];

/// `src/call/**` imports of the backends still there today: none (the VCC
/// settings moved to `config/vcc.rs`). Kept so a debt, if one must be taken,
/// is named here rather than hidden.
const CALL_DEBT: &[(&str, &str)] = &[];

/// Sans-IO cores outside `src/call/`.
const CORES: &[&str] = &[
    "src/media/jitter.rs",
    "src/media/mixer.rs",
    "src/media/tsm.rs",
    "src/media/playout.rs",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/a/b.rs` → `src/a/b.rs` (relative, with `/`).
fn rel(p: &Path) -> String {
    p.strip_prefix(root())
        .expect("under the crate")
        .to_string_lossy()
        .replace('\\', "/")
}

/// The file's module path: `src/a/mod.rs` → [a], `src/a/b.rs` → [a, b].
fn module_path(rel: &str) -> Vec<String> {
    let inner = rel.strip_prefix("src/").expect("src file");
    let inner = inner.strip_suffix(".rs").expect(".rs file");
    let mut parts: Vec<String> = inner.split('/').map(str::to_string).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The source without comments (line, doc and block comments), so a path
/// named in prose is not an import.
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let (mut i, mut in_str) = (0, false);
    while i < b.len() {
        let c = b[i];
        if in_str {
            out.push(c as char);
            if c == b'\\' && i + 1 < b.len() {
                out.push(b[i + 1] as char);
                i += 2;
                continue;
            }
            if c == b'"' {
                in_str = false;
            }
            i += 1;
        } else if c == b'"' {
            in_str = true;
            out.push('"');
            i += 1;
        } else if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            i += 2;
            while i < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else {
            out.push(c as char);
            i += 1;
        }
    }
    out
}

fn ident_at(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Top-level crate modules this file's code names.
fn top_modules(rel: &str, code: &str) -> BTreeSet<String> {
    let here = module_path(rel);
    let mut found = BTreeSet::new();
    let add_after = |rest: &str, base: &[String], found: &mut BTreeSet<String>| {
        if let Some(first) = base.first() {
            found.insert(first.clone());
            return;
        }
        let rest = rest.trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a::x, b::{y, z}}`: the first name of each top item.
            let mut depth = 0;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && (c.is_ascii_alphabetic() || c == '_') => {
                        found.insert(ident_at(&group[i..]).to_string());
                        start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let id = ident_at(rest);
            if !id.is_empty() {
                found.insert(id.to_string());
            }
        }
    };
    for (i, _) in code.match_indices("crate::") {
        let before = code[..i].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue; // e.g. `$crate::`, `tongdai_crate::`
        }
        add_after(&code[i + "crate::".len()..], &[], &mut found);
    }
    let mut i = 0;
    while let Some(off) = code[i..].find("super::") {
        let at = i + off;
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            i = at + 1;
            continue;
        }
        let mut n = 0;
        let mut rest = &code[at..];
        while let Some(r) = rest.strip_prefix("super::") {
            n += 1;
            rest = r;
        }
        // `super` inside an inline `mod tests` is one level deeper than the
        // file; counting from the file itself errs towards the file's own
        // parent, which is the stricter reading.
        let base: Vec<String> = here[..here.len().saturating_sub(n)].to_vec();
        add_after(rest, &base, &mut found);
        i = at + "super::".len() * n;
    }
    found
}

struct Src {
    rel: String,
    code: String,
}

fn sources() -> Vec<Src> {
    let mut files = Vec::new();
    rs_files(&root().join("src"), &mut files);
    files
        .iter()
        .map(|p| Src {
            rel: rel(p),
            code: code_of(&std::fs::read_to_string(p).expect("read source")),
        })
        .collect()
}

/// Checks `files` against `forbidden` top modules, with a debt list; returns
/// the complaints.
fn upward(
    srcs: &[Src],
    files: impl Fn(&str) -> bool,
    forbidden: &[&str],
    debt: &[(&str, &str)],
) -> Vec<String> {
    let mut bad = Vec::new();
    let mut used_debt = BTreeSet::new();
    for s in srcs.iter().filter(|s| files(&s.rel)) {
        let own = module_path(&s.rel).first().cloned().unwrap_or_default();
        for m in top_modules(&s.rel, &s.code) {
            if m == own || !forbidden.contains(&m.as_str()) {
                continue;
            }
            if debt.contains(&(s.rel.as_str(), m.as_str())) {
                used_debt.insert((s.rel.clone(), m));
            } else {
                bad.push(format!("{} imports crate::{m}", s.rel));
            }
        }
    }
    for (f, m) in debt {
        if !used_debt.contains(&(f.to_string(), m.to_string())) {
            bad.push(format!(
                "{f} no longer imports crate::{m}: remove it from the debt list"
            ));
        }
    }
    bad
}

#[test]
fn the_vcc_wire_codec_sits_below_the_call_core() {
    let srcs = sources();
    assert!(
        srcs.iter().any(|s| s.rel == "src/vcc_wire.rs"),
        "the VCC push codec lives in src/vcc_wire.rs, below call/"
    );
    // No second copy of the codec up in the backend.
    for s in &srcs {
        assert!(
            s.rel == "src/vcc_wire.rs" || !s.code.contains("pub enum ClientMsg"),
            "{} defines the push codec's ClientMsg: it belongs in src/vcc_wire.rs",
            s.rel
        );
    }
    let bad = upward(&srcs, |f| f == "src/vcc_wire.rs", FEATURES, &[]);
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn config_imports_no_feature_module() {
    let srcs = sources();
    assert!(srcs.iter().any(|s| s.rel == "src/config/mod.rs"));
    let bad = upward(
        &srcs,
        |f| f.starts_with("src/config/"),
        FEATURES,
        CONFIG_DEBT,
    );
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn the_call_core_reaches_no_backend() {
    let srcs = sources();
    let bad = upward(
        &srcs,
        |f| f.starts_with("src/call/"),
        &["app", "backends", "control", "switchboard"],
        CALL_DEBT,
    );
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn the_sans_io_cores_use_no_async_types() {
    let srcs = sources();
    let cores: Vec<&Src> = srcs
        .iter()
        .filter(|s| s.rel.starts_with("src/call/") || CORES.contains(&s.rel.as_str()))
        .collect();
    // The walk found them: a renamed core must be renamed here too.
    for c in CORES {
        assert!(
            cores.iter().any(|s| s.rel == *c),
            "{c} is gone: update CORES"
        );
    }
    assert!(cores.iter().any(|s| s.rel == "src/call/vcc/mod.rs"));
    assert!(cores.iter().any(|s| s.rel == "src/call/book.rs"));
    let mut bad = Vec::new();
    for s in cores {
        for (i, _) in s.code.match_indices("tokio") {
            let before = s.code[..i].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            let line = s.code[..i].matches('\n').count() + 1;
            bad.push(format!("{}:{line} uses tokio", s.rel));
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn clippy_keeps_clocks_and_tasks_out_of_the_cores() {
    // clippy.toml's `disallowed-methods` (Instant::now, SystemTime::now,
    // tokio::spawn) is denied module by module; `call/mod.rs` covers every
    // file under `call/`, the others deny it themselves.
    let srcs = sources();
    let deny = "#![deny(clippy::disallowed_methods)]";
    let mut missing = Vec::new();
    for f in CORES
        .iter()
        .copied()
        .chain(["src/call/mod.rs", "src/vcc_wire.rs"])
    {
        let s = srcs.iter().find(|s| s.rel == f);
        if !s.is_some_and(|s| s.code.contains(deny)) {
            missing.push(f);
        }
    }
    assert!(missing.is_empty(), "no `{deny}` in {missing:?}");
}

/// The checker itself: each kind of path it must see.
#[test]
fn the_checker_resolves_paths_like_rustc() {
    let code = code_of(
        "use crate::{app::keymap, sip::{SipConfig}};\n\
         // use crate::engine::Event;\n\
         fn f() { let _ = crate::media::x(); let _ = \"// crate::crm\"; }\n\
         use super::super::control::Y;\n\
         use super::error::E;\n",
    );
    let found = top_modules("src/config/deep/mod.rs", &code);
    let want: BTreeSet<String> = ["app", "sip", "media", "config", "control"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    // `crate::crm` inside a string is not code, but this cheap scanner
    // keeps strings: it may over-report there, never under-report.
    let found: BTreeSet<String> = found.into_iter().filter(|m| m != "crm").collect();
    assert_eq!(found, want);
    assert!(!found.contains("engine"), "a comment is not an import");
    assert_eq!(module_path("src/config/mod.rs"), vec!["config"]);
    assert_eq!(module_path("src/call/vcc/io.rs"), vec!["call", "vcc", "io"]);
}
