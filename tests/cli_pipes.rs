//! The command-line tools behave like Unix tools when the reader goes away
//! (`tongdai history | head -1`): they stop quietly, no "Broken pipe" error.

mod common;

use std::process::Stdio;

use common::bin::tongdai;

#[test]
fn history_into_a_closed_pipe_exits_quietly() {
    let dir = std::env::temp_dir().join(format!("tongdai-pipe-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // A pipe whose reader is already gone: the first write fails with EPIPE,
    // whatever the timing (what `| head -1` does once head has its line).
    let (read, write) = nix::unistd::pipe().expect("pipe");
    drop(read);
    let out = tongdai(&dir)
        .args(["history", "--json"])
        .stdout(Stdio::from(write))
        .stderr(Stdio::piped())
        .output()
        .expect("run tongdai history");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "stderr: {stderr}");
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
