//! What pyhost asks of the operating system for processes: the host's signal handlers, kept
//! when Python's `signal` module is imported; signals to worker processes; their limits.
//!
//! # The host's signals
//!
//! Importing `signal` in the main interpreter (subprocess, asyncio, pytest and eventlet do)
//! installs Python's `SIGINT` handler whenever the C handler is still the default one; from
//! then on `SIGINT` raises `KeyboardInterrupt` in whatever Python code runs. With the host
//! owning its signals, pyhost imports `signal` itself at start, between saving and restoring
//! the C handlers of `SIGINT` and `SIGTERM`: Python's record then says its handler is set, so
//! no later import installs it again, while the process keeps the host's handler (or the
//! default action). Python code that calls `signal.signal` itself still can.
//!
//! # Workers
//!
//! Interrupting a process worker (`SIGINT` to its Python thread, which Python turns into
//! `KeyboardInterrupt`), and the cap on its address space (`RLIMIT_AS`).

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

    /// Sends `SIGINT` to thread `tid` of process `pid` (a child of ours), where Python's
    /// handler interrupts the call that thread runs: a signal sent to the process may be
    /// taken by another thread, which leaves a blocking call there asleep. Without a thread
    /// id (or off Linux), to the process. False if it is gone.
    pub(crate) fn interrupt(pid: u32, tid: Option<u32>) -> bool {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return false;
        };
        #[cfg(target_os = "linux")]
        if let Some(tid) = tid.and_then(|t| libc::pid_t::try_from(t).ok()) {
            // tgkill(2) only sends a signal to that thread of that process; one that has
            // exited gives ESRCH.
            // SAFETY: for the reason above.
            return unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, libc::SIGINT) == 0 };
        }
        let _ = tid;
        // kill(2) only sends a signal; a pid that has exited gives ESRCH.
        // SAFETY: for the reason above.
        unsafe { libc::kill(pid, libc::SIGINT) == 0 }
    }

    /// Caps this process's address space at `bytes` (`RLIMIT_AS`): allocations past it fail,
    /// which Python reports as `MemoryError`. Returns the limit now in force, as the kernel
    /// reports it (an emulator may ignore the request).
    pub(crate) fn limit_address_space(bytes: u64) -> std::io::Result<Option<u64>> {
        let bytes = libc::rlim_t::try_from(bytes).unwrap_or(libc::RLIM_INFINITY);
        let limit = libc::rlimit {
            rlim_cur: bytes,
            rlim_max: bytes,
        };
        // setrlimit(2) reads the struct; getrlimit(2) writes into a valid one.
        // SAFETY: for the reasons above.
        unsafe {
            if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let mut now = MaybeUninit::<libc::rlimit>::zeroed();
            if libc::getrlimit(libc::RLIMIT_AS, now.as_mut_ptr()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let cur = now.assume_init().rlim_cur;
            // `rlim_t` is 32 bits on some targets.
            #[allow(clippy::useless_conversion)]
            Ok((cur != libc::RLIM_INFINITY).then(|| u64::from(cur)))
        }
    }

    /// Waits up to `timeout` for `fd` to have data to read (or to be closed): poll(2).
    pub(crate) fn wait_readable(
        fd: &impl std::os::fd::AsRawFd,
        timeout: std::time::Duration,
    ) -> std::io::Result<bool> {
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        loop {
            // poll(2) reads and writes the one pollfd it is given, which lives on this stack
            // frame; `fd` is open for as long as the borrow lasts.
            // SAFETY: for the reasons above.
            let n = unsafe { libc::poll(&mut pfd, 1, ms) };
            if n >= 0 {
                return Ok(n > 0);
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// Waits until the other end of the connected socket `fd` is closed (or shut down for
    /// writing), without reading from it: poll(2) for `POLLRDHUP`/`POLLHUP` only.
    pub(crate) fn wait_peer_closed(fd: &impl std::os::fd::AsRawFd) {
        #[cfg(target_os = "linux")]
        let events = libc::POLLRDHUP;
        #[cfg(not(target_os = "linux"))]
        let events = 0;
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events,
            revents: 0,
        };
        loop {
            // poll(2) reads and writes the one pollfd it is given, which lives on this stack
            // frame; `fd` is open for as long as the borrow lasts. POLLHUP and POLLERR are
            // reported whatever `events` asks.
            // SAFETY: for the reasons above.
            let n = unsafe { libc::poll(&mut pfd, 1, -1) };
            if n > 0 && pfd.revents != 0 {
                return;
            }
            if n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                return;
            }
        }
    }

    /// Ends the process at once with `code`, running no exit handler: for a worker whose
    /// main thread is stuck where nothing else reaches it.
    pub(crate) fn exit_now(code: i32) -> ! {
        // _exit(2) takes an int and does not return.
        // SAFETY: for the reason above.
        unsafe { libc::_exit(code) }
    }

    /// Nanoseconds on the clock `Instant` reads (`CLOCK_MONOTONIC`), as one integer: the
    /// Executor's per-call timings subtract and compare these instead of `Instant`s, whose
    /// arithmetic checks and normalizes seconds and nanoseconds on every use.
    #[inline]
    pub(crate) fn monotonic_nanos() -> u64 {
        let mut ts = MaybeUninit::<libc::timespec>::uninit();
        // clock_gettime(2) fills `ts` for a clock every Unix has, and cannot fail for it.
        // SAFETY: for the reason above.
        let ts = unsafe {
            libc::clock_gettime(libc::CLOCK_MONOTONIC, ts.as_mut_ptr());
            ts.assume_init()
        };
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    }

    /// This thread's id as the kernel knows it (Linux), for [`interrupt`].
    pub(crate) fn thread_id() -> Option<u32> {
        #[cfg(target_os = "linux")]
        {
            // gettid(2) takes nothing and cannot fail.
            // SAFETY: for the reason above.
            let tid = unsafe { libc::gettid() };
            u32::try_from(tid).ok()
        }
        #[cfg(not(target_os = "linux"))]
        None
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

    /// No signals to send here.
    pub(crate) fn interrupt(_pid: u32, _tid: Option<u32>) -> bool {
        false
    }

    pub(crate) fn thread_id() -> Option<u32> {
        None
    }

    pub(crate) fn limit_address_space(_bytes: u64) -> std::io::Result<Option<u64>> {
        Ok(None)
    }

    /// Never returns here: there are no worker processes.
    pub(crate) fn wait_peer_closed<T>(_fd: &T) {
        loop {
            std::thread::park();
        }
    }

    pub(crate) fn exit_now(code: i32) -> ! {
        std::process::exit(code)
    }

    /// Nanoseconds since the first call, on `Instant`'s clock.
    pub(crate) fn monotonic_nanos() -> u64 {
        static EPOCH: std::sync::LazyLock<std::time::Instant> =
            std::sync::LazyLock::new(std::time::Instant::now);
        EPOCH.elapsed().as_nanos() as u64
    }
}

pub(crate) use imp::{
    exit_now, interrupt, limit_address_space, monotonic_nanos, save, thread_id, wait_peer_closed,
    wait_readable,
};
