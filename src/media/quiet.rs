//! Keep ALSA's library messages off the terminal.
//!
//! When cpal probes or opens ALSA devices, alsa-lib reports every plugin it
//! cannot open ("ALSA lib pcm_dmix.c:1032:(snd_pcm_dmix_open) unable to
//! open slave", "… Unknown PCM cards.pcm.rear" on a machine without that
//! card) by calling `snd_lib_error`, whose default prints to fd 2. On a
//! machine with no sound card that is a screenful for `tongdai devices`, and
//! in the console it would land on top of the screen.
//!
//! The fix is at the source, for the whole process and every thread (cpal's
//! stream threads included): [`quiet_alsa`] installs our own handler with
//! `snd_lib_error_set_handler` (alsa-lib `error.c`), once. The messages go
//! to the log at debug level instead (the unformatted format string: the
//! arguments are not readable, see below).
//!
//! Why not the `alsa` crate's `Output::local_error_handler`: it uses
//! `snd_lib_error_set_local`, which alsa-lib keeps in a thread-local, so it
//! would not cover the threads cpal spawns. Why not redirect fd 2 around the
//! probe: that would also swallow every other thread's stderr for that time,
//! and miss messages printed later from cpal's threads.

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
mod imp {
    use std::ffi::{CStr, c_char, c_int};
    use std::sync::Once;

    /// The handler as we define it: the five named parameters of
    /// `snd_lib_error_handler_t` and no variadic tail.
    ///
    /// SAFETY of the signature mismatch (the C type is
    /// `void (*)(const char *file, int line, const char *function, int err,
    /// const char *fmt, ...)`): stable Rust cannot define a C-variadic
    /// function, so alsa-lib calls this non-variadic function through a
    /// variadic pointer. On the two targets this module is compiled for, the
    /// System V x86-64 ABI and AAPCS64 as used on Linux, a variadic call
    /// passes the named arguments exactly as a non-variadic call does
    /// (same integer registers, in order); the variadic arguments go in the
    /// following registers or on the caller-cleaned stack, and x86-64's
    /// `%al` vector-register count is only read by a variadic callee. A
    /// callee that never reads them is therefore called correctly. This is
    /// the well-known way to silence ALSA from languages without C variadics
    /// (e.g. Python's `ctypes.CFUNCTYPE(None, c_char_p, c_int, c_char_p,
    /// c_int, c_char_p)` passed to the same function). Other targets (Apple
    /// AArch64 passes variadics differently) do not compile this module.
    type Handler = unsafe extern "C" fn(*const c_char, c_int, *const c_char, c_int, *const c_char);

    // libasound is already linked by alsa-sys (cpal's ALSA host); declared
    // here with our handler type (see `Handler`).
    #[link(name = "asound")]
    unsafe extern "C" {
        fn snd_lib_error_set_handler(handler: Option<Handler>) -> c_int;
    }

    /// Must not unwind into C: only reads the C strings and logs.
    unsafe extern "C" fn to_log(
        file: *const c_char,
        line: c_int,
        function: *const c_char,
        err: c_int,
        fmt: *const c_char,
    ) {
        let text = |p: *const c_char| {
            if p.is_null() {
                String::new()
            } else {
                // SAFETY: alsa-lib passes NUL-terminated static strings
                // (__FILE__, __func__, the format literal) or NULL.
                unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
            }
        };
        let _ = std::panic::catch_unwind(|| {
            tracing::debug!(
                target: "alsa",
                file = %text(file),
                line,
                function = %text(function),
                err,
                "{}",
                text(fmt)
            );
        });
    }

    static ONCE: Once = Once::new();

    pub fn quiet_alsa() {
        ONCE.call_once(|| {
            // SAFETY: `to_log` has the ABI described at `Handler`; the call
            // only stores the pointer (alsa-lib `error.c`). The function is
            // 'static, so it outlives every later ALSA call.
            unsafe {
                snd_lib_error_set_handler(Some(to_log));
            }
        });
    }
}

#[cfg(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
))]
pub use imp::quiet_alsa;

/// Elsewhere ALSA is not used (or its messages stay, see the module doc).
#[cfg(not(all(
    target_os = "linux",
    any(target_arch = "x86_64", target_arch = "aarch64")
)))]
pub fn quiet_alsa() {}
