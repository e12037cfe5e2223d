//! The host's signal handlers, kept when Python's `signal` module is imported.
//!
//! Importing `signal` in the main interpreter (subprocess, asyncio, pytest and eventlet do)
//! installs Python's `SIGINT` handler whenever the C handler is still the default one; from
//! then on `SIGINT` raises `KeyboardInterrupt` in whatever Python code runs. With the host
//! owning its signals, pyhost imports `signal` itself at start, between saving and restoring
//! the C handlers of `SIGINT` and `SIGTERM`: Python's record then says its handler is set, so
//! no later import installs it again, while the process keeps the host's handler (or the
//! default action). Python code that calls `signal.signal` itself still can.

#[cfg(unix)]
mod imp {
    use std::mem::MaybeUninit;

    /// The signals the host owns.
    const OWNED: [libc::c_int; 2] = [libc::SIGINT, libc::SIGTERM];

    /// The C handlers of the owned signals at one moment.
    pub(crate) struct Saved([(libc::c_int, libc::sigaction); 2]);

    /// The handlers now.
    pub(crate) fn save() -> Saved {
        Saved(OWNED.map(|sig| {
            let mut old = MaybeUninit::<libc::sigaction>::zeroed();
            // sigaction(2) with a null new action only writes the current one into `old`,
            // a valid (zeroed) struct of the right type; `sig` is a valid signal number.
            // SAFETY: for the reasons above.
            unsafe {
                libc::sigaction(sig, std::ptr::null(), old.as_mut_ptr());
                (sig, old.assume_init())
            }
        }))
    }

    impl Saved {
        /// Puts the saved handlers back.
        pub(crate) fn restore(&self) {
            for (sig, action) in &self.0 {
                // `action` was returned by sigaction(2) for this signal, so it is a handler
                // (or SIG_DFL/SIG_IGN) valid in this process, with its flags and mask.
                // SAFETY: for the reasons above.
                unsafe {
                    libc::sigaction(*sig, action, std::ptr::null_mut());
                }
            }
        }
    }
}

#[cfg(not(unix))]
mod imp {
    /// Nothing to keep where Python installs no handler on import.
    pub(crate) struct Saved;

    pub(crate) fn save() -> Saved {
        Saved
    }

    impl Saved {
        pub(crate) fn restore(&self) {}
    }
}

pub(crate) use imp::save;
