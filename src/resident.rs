//! Give back the start-up code's pages once the console is ready (issue 14).
//!
//! Start-up runs a lot of code once and never again: the command line, the
//! config and theme parsers, TLS, the login. The kernel maps a program's
//! code in 64 kB blocks around each page that runs (fault-around), so an
//! idle console kept most of its 18.6 MB of code mapped: 13 MB of its
//! 14.8 MB RSS, shared with every other console but counted in each one's
//! RSS (`benches/consoles.sh`, README "Footprint").
//!
//! [`release_startup_code`] unmaps the read-only mappings of the program
//! and its libraries. The pages stay in the page cache (still shared, and
//! now reclaimable under memory pressure); the code the console runs
//! afterwards maps back in on first use, a minor fault per 64 kB block.
//! Only mappings that are exactly their file's contents are dropped:
//! private, not writable, and holding no anonymous (copied-on-write) page,
//! as the kernel reports them in `/proc/self/smaps`. For those,
//! `MADV_DONTNEED` changes nothing the program can see (madvise(2): "the
//! mapping is repopulated from the underlying file"). Relocated data
//! (RELRO), the heap, stacks and writable data are never touched.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};

/// A mapping read from `/proc/self/smaps`.
#[derive(Debug, Clone, PartialEq)]
struct Mapping {
    start: usize,
    end: usize,
    /// `rwxp` as the kernel prints it.
    perms: String,
    path: String,
    /// Pages copied on write (or never backed by the file), kB.
    anonymous_kb: u64,
}

impl Mapping {
    /// Exactly the file's contents: dropping it loses nothing.
    fn is_clean_file_copy(&self) -> bool {
        let p = self.perms.as_bytes();
        self.path.starts_with('/')
            && p.get(1) == Some(&b'-')
            && p.get(3) == Some(&b'p')
            && self.anonymous_kb == 0
    }
}

/// The mappings of `smaps`: a header line per mapping, then its
/// `Key: value kB` lines.
fn parse_smaps(r: impl BufRead) -> Vec<Mapping> {
    let mut out: Vec<Mapping> = Vec::new();
    for line in r.lines().map_while(Result::ok) {
        let mut fields = line.split_ascii_whitespace();
        let Some(first) = fields.next() else { continue };
        if let Some(key) = first.strip_suffix(':') {
            if key == "Anonymous"
                && let Some(m) = out.last_mut()
            {
                m.anonymous_kb = fields
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(u64::MAX);
            }
            continue;
        }
        // `start-end perms offset dev inode [path]`
        let Some((start, end)) = first.split_once('-') else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            usize::from_str_radix(start, 16),
            usize::from_str_radix(end, 16),
        ) else {
            continue;
        };
        let perms = fields.next().unwrap_or_default().to_string();
        let path = fields.nth(3).unwrap_or_default().to_string();
        out.push(Mapping {
            start,
            end,
            perms,
            path,
            // Unknown until its `Anonymous:` line says so: not clean.
            anonymous_kb: u64::MAX,
        });
    }
    out
}

/// The mappings to drop: the clean read-only mappings of the files that
/// have code mapped (the program and its shared libraries), not data
/// files another part of the program may have mapped.
fn code_and_read_only_data(maps: &[Mapping]) -> Vec<(usize, usize)> {
    let objects: HashSet<&str> = maps
        .iter()
        .filter(|m| m.perms.as_bytes().get(2) == Some(&b'x'))
        .map(|m| m.path.as_str())
        .collect();
    maps.iter()
        .filter(|m| m.is_clean_file_copy() && objects.contains(m.path.as_str()))
        .map(|m| (m.start, m.end))
        .collect()
}

/// Unmap the program's and its libraries' read-only pages (see the module
/// comment); returns the bytes of address space advised. Linux only; a
/// no-op elsewhere.
pub fn release_startup_code() -> usize {
    #[cfg(target_os = "linux")]
    {
        let Ok(f) = std::fs::File::open("/proc/self/smaps") else {
            return 0;
        };
        let maps = parse_smaps(BufReader::new(f));
        let mut advised = 0;
        for (start, end) in code_and_read_only_data(&maps) {
            // SAFETY: the range is one whole mapping of a file, private,
            // read-only and with no anonymous page (checked above, from the
            // kernel's own account): MADV_DONTNEED only drops page-table
            // entries, and every later access maps the same file page again.
            let r = unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED)
            };
            if r == 0 {
                advised += end - start;
            }
        }
        tracing::debug!(advised, "start-up code released");
        advised
    }
    #[cfg(not(target_os = "linux"))]
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
5600-5700 r--p 00000000 fe:00 12 /usr/bin/tongdai
Size:               1024 kB
Rss:                 512 kB
Anonymous:             0 kB
5700-5900 r-xp 00100000 fe:00 12 /usr/bin/tongdai
Anonymous:             0 kB
5900-5a00 r--p 00300000 fe:00 12 /usr/bin/tongdai
Anonymous:            64 kB
5a00-5a10 rw-p 00400000 fe:00 12 /usr/bin/tongdai
Anonymous:            16 kB
6000-6100 rw-p 00000000 00:00 0 [heap]
Anonymous:           100 kB
7000-7100 r--p 00000000 fe:00 40 /usr/lib/locale/C.utf8/LC_CTYPE
Anonymous:             0 kB
7100-7200 r-xp 00020000 fe:00 41 /usr/lib/x86_64-linux-gnu/libc.so.6
Anonymous:             0 kB
7300-7400 rw-s 00000000 fe:00 50 /home/a/history.sqlite3-shm
Anonymous:             0 kB
7400-7410 r-xp 00000000 00:00 0 [vdso]
Anonymous:             0 kB
7500-7600 r-xp 00000000 fe:00 41 /usr/lib/x86_64-linux-gnu/libc.so.6
";

    #[test]
    fn only_clean_read_only_mappings_of_loaded_objects_are_dropped() {
        let maps = parse_smaps(SMAPS.as_bytes());
        assert_eq!(maps.len(), 10);
        assert_eq!(maps[0].path, "/usr/bin/tongdai");
        assert_eq!(maps[2].anonymous_kb, 64);
        // The program's headers and code, libc's code; not the relocated
        // data (anonymous pages), the writable data, the heap, a locale
        // file, a shared mapping, the vDSO, nor a mapping whose smaps
        // entry was cut before its `Anonymous:` line.
        assert_eq!(
            code_and_read_only_data(&maps),
            vec![(0x5600, 0x5700), (0x5700, 0x5900), (0x7100, 0x7200)]
        );
    }

    #[test]
    fn the_test_process_runs_on_after_its_code_is_released() {
        // This test binary's own code and libc's are dropped while the
        // harness's other threads run, and map back in as they run.
        assert!(release_startup_code() > 0);
        let text = std::fs::read_to_string("/proc/self/status").unwrap();
        assert!(text.contains("VmRSS"), "{text}");
    }
}
