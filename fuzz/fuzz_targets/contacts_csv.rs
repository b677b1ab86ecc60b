//! Contacts CSV import (src/store/contacts.rs) on any bytes: delimiter
//! sniffing, BOM, headers in English / Vietnamese, phone normalisation, the
//! SQLite upsert; then an export of what was imported. One store per
//! process, emptied after every input: under $FUZZ_STORE_DIR when set (the
//! smoke script removes it), else /dev/shm or the temp dir.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use tongdai::store::Store;

static STORE: Mutex<Option<Store>> = Mutex::new(None);

fn store_path() -> PathBuf {
    let base = if let Some(dir) = std::env::var_os("FUZZ_STORE_DIR") {
        PathBuf::from(dir)
    } else if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    base.join(format!("tongdai-fuzz-{}", std::process::id()))
        .join("history.sqlite3")
}

fuzz_target!(|data: &[u8]| {
    let mut guard = STORE.lock().unwrap_or_else(|e| e.into_inner());
    let store = guard.get_or_insert_with(|| Store::open(&store_path()).expect("open the store"));
    let now = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
    match store.import_csv_bytes(Path::new("fuzz.csv"), data, now) {
        Ok(report) => {
            let _ = report.to_string();
            let mut out = Vec::new();
            store
                .export_csv(&mut out)
                .expect("export what was imported");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    store
        .connection()
        .execute("DELETE FROM contacts", [])
        .expect("empty the store");
});
