//! Python awaits Rust: a `#[pyhost::function] async fn` returns an `asyncio` future that its
//! Rust future completes (feature `tokio`).
//!
//! Called inside a running asyncio event loop, the function converts its arguments, creates a
//! future on that loop, and polls its Rust future once on the calling thread (inside the
//! runtime's context): a future ready at once completes the asyncio future right there, so
//! awaiting it costs no trip through the loop. Otherwise the future is spawned on a tokio
//! runtime: the one given to [`set_runtime`], else one pyhost starts (2 worker threads, named
//! `pyhost-tokio`). When it ends, its result (or error) is converted on the runtime's thread
//! and handed to the loop with `call_soon_threadsafe`, which wakes it. (The first poll runs
//! with the GIL held, up to the future's first `.await` that waits: keep work before it short.) Cancelling the asyncio future (or the
//! task awaiting it, as `asyncio.wait_for` does at its timeout) drops the Rust future.
//!
//! Like a `blocking` function, an `async fn` takes owned arguments: its future outlives the
//! call. It runs on the main interpreter (subinterpreters give an error).
//!
//! ```
//! # #[cfg(feature = "tokio")] {
//! # pyhost::initialize_once().unwrap();
//! #[pyhost::function]
//! async fn double_later(n: u64) -> u64 {
//!     tokio::time::sleep(std::time::Duration::from_millis(10)).await;
//!     2 * n
//! }
//!
//! pyhost::with_gil(|py| {
//!     let ns = py.new_namespace()?;
//!     ns.set_item("double_later", pyhost::wrap_function!(double_later).to_callable(py)?)?;
//!     py.exec_with(
//!         "import asyncio\n\
//!          async def main():\n    return await asyncio.gather(*(double_later(i) for i in range(3)))\n\
//!          result = asyncio.run(main())",
//!         &ns,
//!         None,
//!     )?;
//!     assert_eq!(ns.get_item("result")?.unwrap().extract::<Vec<u64>>()?, [0, 2, 4]);
//!     Ok(())
//! })?;
//! # }
//! # Ok::<(), pyhost::Error>(())
//! ```

use std::future::Future;

use crate::function::IntoReturn;
use crate::types::Any;
use crate::{Object, Python, Result};

/// Implemented when pyhost is built with its `tokio` feature: what an `async fn` needs.
#[diagnostic::on_unimplemented(
    message = "a `#[pyhost::function] async fn` needs pyhost's `tokio` feature",
    label = "this async function is called from Python",
    note = "in Cargo.toml: pyhost = {{ ..., features = [\"tokio\"] }}"
)]
pub trait Runtime {}

#[cfg(feature = "tokio")]
impl<F> Runtime for F {}

/// The awaitable an `async fn` returns: an asyncio future on the running loop, completed by
/// `fut` on the tokio runtime (generated code calls this).
///
/// # Errors
/// No running asyncio loop in this thread; a subinterpreter.
pub fn awaitable<'py, F>(py: Python<'py>, fut: F) -> Result<Object<'py, Any>>
where
    F: Future + Send + Runtime + 'static,
    F::Output: for<'a> IntoReturn<'a> + Send + 'static,
{
    #[cfg(feature = "tokio")]
    {
        imp::awaitable(py, fut)
    }
    #[cfg(not(feature = "tokio"))]
    {
        let _ = (py, fut);
        Err(crate::Error::Unsupported {
            message: "async functions need pyhost's `tokio` feature".into(),
        })
    }
}

#[cfg(feature = "tokio")]
pub use imp::set_runtime;

#[cfg(feature = "tokio")]
mod imp {
    use std::future::Future;
    use std::sync::OnceLock;

    use crate::function::IntoReturn;
    use crate::helper::Helper;
    use crate::types::{Any, Function};
    use crate::{Error, Object, Python, Result, with_gil};

    static RUNTIME: OnceLock<tokio::runtime::Handle> = OnceLock::new();

    /// Runs the futures of `async fn`s on `handle` (a runtime of the host's). Call it before
    /// the first such call; afterwards the runtime in use stays, and the handle given back.
    ///
    /// # Errors
    /// `handle`, when a runtime was already chosen.
    pub fn set_runtime(
        handle: tokio::runtime::Handle,
    ) -> std::result::Result<(), tokio::runtime::Handle> {
        RUNTIME.set(handle)
    }

    fn runtime() -> Result<&'static tokio::runtime::Handle> {
        if let Some(h) = RUNTIME.get() {
            return Ok(h);
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("pyhost-tokio")
            .enable_all()
            .build()
            .map_err(|e| Error::runtime_error(format!("cannot start a tokio runtime: {e}")))?;
        let _ = RUNTIME.set(rt.handle().clone());
        // It serves for the rest of the process.
        std::mem::forget(rt);
        Ok(RUNTIME.get().expect("set above"))
    }

    /// Completes a future unless it is done (cancelled) already.
    const DONE: &str = "\
def done(fut, ok, value):
    if not fut.done():
        if ok:
            fut.set_result(value)
        else:
            fut.set_exception(value)
";

    static HELPER: Helper = Helper::new(DONE);

    pub(super) fn awaitable<'py, F>(py: Python<'py>, fut: F) -> Result<Object<'py, Any>>
    where
        F: Future + Send + 'static,
        F::Output: for<'a> IntoReturn<'a> + Send + 'static,
    {
        if !crate::raw::interp::current(py).is_main() {
            return Err(Error::Unsupported {
                message: "async functions run on the main interpreter only, not in a \
                          subinterpreter"
                    .into(),
            });
        }
        let event_loop = py
            .import("asyncio")?
            .call_method0("get_running_loop")
            .map_err(|e| Error::Context {
                context: "an async fn of Rust is awaited inside a running asyncio event loop \
                          (asyncio.run(...), or a coroutine of one)"
                    .into(),
                source: Box::new(e),
            })?;
        let future = event_loop.call_method0("create_future")?;
        // A future that is ready at once completes the asyncio future here: awaiting a done
        // future takes no trip through the loop. The first poll runs on this thread, inside
        // the runtime's context (so it may create timers and sockets).
        let rt = runtime()?;
        let mut fut = Box::pin(fut);
        let first = {
            let _in_runtime = rt.enter();
            fut.as_mut()
                .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
        };
        if let std::task::Poll::Ready(out) = first {
            match out.into_return(py) {
                Ok(v) => future.call_method1("set_result", (v,))?,
                Err(e) => future.call_method1("set_exception", (e.into_py_err().to_object(py),))?,
            };
            return Ok(future);
        }
        let done = HELPER.get(py, "done")?;
        let (target, on_loop, done) = (future.clone().unbind(), event_loop.unbind(), done.unbind());
        // Polled again by the runtime at once: it registers the runtime's waker then.
        let task = rt.spawn(async move {
            let out = fut.await;
            // The loop may be closed by now: then nobody waits for the answer.
            let _ = with_gil(|py| {
                let (ok, value) = match out.into_return(py) {
                    Ok(v) => (true, v),
                    Err(e) => (false, e.into_py_err().to_object(py)),
                };
                on_loop.bind(py).call_method1(
                    "call_soon_threadsafe",
                    (done.bind(py), target.bind(py), ok, value),
                )?;
                Ok(())
            });
        });
        let abort = task.abort_handle();
        let on_done = Function::new(py, "_pyhost_on_done", None, move |py, args, _| {
            let fut = args.get_item(0)?;
            if fut.call_method0("cancelled")?.is_truthy()? {
                // Drops the Rust future where it is.
                abort.abort();
            }
            Ok(py.none().into_any())
        })?;
        future.call_method1("add_done_callback", (on_done,))?;
        Ok(future)
    }
}
