//! The terminal is always given back: raw mode off, main screen back,
//! cursor shown, stderr pointed at the terminal again. A [`TerminalGuard`]
//! does it on drop, the panic hook does it before the panic message is
//! printed, and the loop does it after the engine's orderly shutdown on
//! SIGINT, SIGTERM and SIGHUP.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};

static ACTIVE: AtomicBool = AtomicBool::new(false);
/// The terminal's stderr, saved while stderr goes to the log (-1: not redirected).
static SAVED_STDERR: AtomicI32 = AtomicI32::new(-1);

/// Raw mode + alternate screen while alive.
pub struct TerminalGuard(());

impl TerminalGuard {
    pub fn enter() -> io::Result<TerminalGuard> {
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut out = io::stdout();
        if let Err(e) = execute!(
            out,
            EnterAlternateScreen,
            EnableBracketedPaste,
            cursor::Hide
        ) {
            restore();
            return Err(e);
        }
        Ok(TerminalGuard(()))
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Give the terminal back. Safe to call more than once, from a panic hook,
/// or after the terminal went away (errors are ignored: nothing to show them on).
pub fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = io::stdout();
        let _ = execute!(
            out,
            DisableBracketedPaste,
            LeaveAlternateScreen,
            cursor::Show
        );
        let _ = disable_raw_mode();
        let _ = out.flush();
    }
    restore_stderr();
}

/// Route fd 2 to `log` while the TUI runs, so C libraries (alsa-lib, …)
/// that print to stderr write into the log instead of over the screen.
pub fn redirect_stderr(log: &File) -> io::Result<()> {
    if SAVED_STDERR.load(Ordering::SeqCst) >= 0 {
        return Ok(());
    }
    // SAFETY: dup/dup2 on file descriptors this process owns: fd 2 and
    // the log file's fd, which stays open for the call. No memory is touched.
    let saved = unsafe { libc::dup(2) };
    if saved < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above; on failure fd 2 is unchanged.
    if unsafe { libc::dup2(log.as_raw_fd(), 2) } < 0 {
        let e = io::Error::last_os_error();
        // SAFETY: `saved` is the descriptor dup() just returned.
        unsafe { libc::close(saved) };
        return Err(e);
    }
    SAVED_STDERR.store(saved, Ordering::SeqCst);
    Ok(())
}

/// Point fd 2 back at the terminal.
pub fn restore_stderr() {
    let saved = SAVED_STDERR.swap(-1, Ordering::SeqCst);
    if saved >= 0 {
        // SAFETY: `saved` is the descriptor saved by redirect_stderr and
        // owned by us; dup2 onto 2 and close the copy.
        unsafe {
            libc::dup2(saved, 2);
            libc::close(saved);
        }
    }
}

/// Restore the terminal (and stderr) before the default hook prints the
/// panic, so the message lands on a usable screen.
pub fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        tracing::error!(%info, "panic");
        restore();
        previous(info);
    }));
}
