//! The builtin modules checks import, written with pyhost's macros: `aggregator`,
//! `datadog_agent`, `util`, `_util`, `tagger`, `kubeutil` and `containers`, with the names,
//! signatures, constants and error messages of the Datadog Agent's rtloader builtins
//! (`rtloader/common/builtins/*.c`), so checks written against the real
//! `datadog-checks-base` run unchanged.
//!
//! They are registered in the inittab before the interpreter starts, as rtloader does, so they
//! appear in `sys.builtin_module_names`. The modules that talk to the agent carry an
//! `Arc<AgentState>` as their host state instead of global callbacks.
//!
//! Deviations from rtloader, on purpose:
//! - `get_subprocess_output` reports a command that cannot be started as return code 127 with
//!   the reason in stderr (the Go agent ignores the error and returns `('', '', 0)`);
//! - `obfuscate_sql`, `obfuscate_sql_exec_plan` and `obfuscate_mongodb_string` raise
//!   `RuntimeError("... is not supported by pyhost-agent ...")`: the obfuscator is Go code;
//! - `tagger.tag` returns no tags and `containers.is_excluded` excludes nothing: there is no
//!   container runtime here.

mod aggregator;
mod containers;
mod datadog_agent;
mod kubeutil;
mod tagger;
mod util;

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::SystemTime;

use pyhost::types::{Any, Dict, List, Tuple};
use pyhost::{Builder, Error, Object};

use crate::aggregator::Aggregator;
use crate::config::AgentConfig;

/// What the builtin modules need from the agent.
pub struct AgentState {
    cfg: Arc<AgentConfig>,
    aggregator: Arc<Aggregator>,
    started: SystemTime,
}

/// The host state of the modules that talk to the agent.
pub type State = Arc<AgentState>;

impl AgentState {
    /// The state for one agent.
    pub fn new(cfg: Arc<AgentConfig>, aggregator: Arc<Aggregator>) -> State {
        Arc::new(AgentState {
            cfg,
            aggregator,
            started: SystemTime::now(),
        })
    }

    fn cache_dir(&self) -> PathBuf {
        self.cfg.run_path.join("persistent-cache")
    }
}

/// The agent version checks see (`datadog_agent.get_version()`, the `User-Agent` header).
pub const AGENT_VERSION: &str = concat!("7.0.0+pyhost.", env!("CARGO_PKG_VERSION"));

/// Registers every builtin module in the interpreter's inittab.
pub fn register(builder: Builder, state: &State) -> Builder {
    builder
        .builtin_module("aggregator", aggregator::module::builtin(state.clone()))
        .builtin_module(
            "datadog_agent",
            datadog_agent::module::builtin(state.clone()),
        )
        .builtin_module("util", util::module::builtin())
        .builtin_module("_util", util::private::builtin())
        .builtin_module("tagger", tagger::module::builtin())
        .builtin_module("kubeutil", kubeutil::module::builtin())
        .builtin_module("containers", containers::module::builtin())
}

thread_local! {
    /// The check id of the check running on this thread, for the calls that do not name it
    /// (`set_external_tags`, log lines emitted before `check_id` was set).
    static CURRENT_CHECK: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Marks `check_id` as the check running on this thread until dropped.
pub struct CurrentCheck(());

impl CurrentCheck {
    /// Enters `check_id`.
    pub fn enter(check_id: &str) -> CurrentCheck {
        CURRENT_CHECK.with(|c| *c.borrow_mut() = Some(check_id.to_owned()));
        CurrentCheck(())
    }

    pub(super) fn get() -> Option<String> {
        CURRENT_CHECK.with(|c| c.borrow().clone())
    }
}

impl Drop for CurrentCheck {
    fn drop(&mut self) {
        CURRENT_CHECK.with(|c| *c.borrow_mut() = None);
    }
}

// ---------------------------------------------------------------------------------------------
// Shared argument handling, as rtloader's `py_tag_to_c` and `as_string` do it

/// Tags from any sequence: items that are not `str` are skipped, a non-sequence is a
/// `TypeError("tags must be a sequence")`.
pub(super) fn tags_of(tags: &Object<'_, Any>) -> pyhost::Result<Vec<String>> {
    let is_sequence = tags.is_instance_of::<List>()
        || tags.is_instance_of::<Tuple>()
        || (!tags.is_instance_of::<Dict>()
            && tags.hasattr("__getitem__")?
            && tags.hasattr("__len__")?);
    if !is_sequence {
        return Err(Error::type_error("tags must be a sequence"));
    }
    let mut out = Vec::with_capacity(tags.len()?);
    for item in tags.iter()? {
        if let Ok(tag) = item?.extract::<String>() {
            out.push(tag);
        }
    }
    Ok(out)
}

/// A dict item as a string: missing or not a `str` gives `""`.
pub(super) fn dict_str(d: &Object<'_, Dict>, key: &str) -> pyhost::Result<String> {
    Ok(d.get_item(key)?
        .and_then(|v| v.extract::<String>().ok())
        .unwrap_or_default())
}
