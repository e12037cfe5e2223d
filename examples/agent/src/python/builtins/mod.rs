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

/// Tags from a list, tuple or other sequence (not `None`, a `str`, `bytes` or a `dict`: a
/// `TypeError`, as rtloader's). A `bytes` tag is read as UTF-8; a `str` with lone surrogates keeps U+FFFD in
/// their place; anything else is dropped. Each repair or drop is logged as a warning naming
/// the check, so that no tag disappears unnoticed.
pub(super) fn tags_of(tags: &Object<'_, Any>) -> pyhost::Result<Vec<String>> {
    let text_like = tags.is_instance_of::<pyhost::types::Str>()
        || tags.is_instance_of::<pyhost::types::Bytes>();
    let is_sequence = tags.is_instance_of::<List>()
        || tags.is_instance_of::<Tuple>()
        || (!text_like
            && !tags.is_instance_of::<Dict>()
            && tags.hasattr("__getitem__")?
            && tags.hasattr("__len__")?);
    if !is_sequence {
        return Err(Error::type_error(format!(
            "tags must be a sequence (a list of str), not {}",
            type_name(tags)
        )));
    }
    let mut out = Vec::with_capacity(tags.len()?);
    for item in tags.iter()? {
        let item = item?;
        match text_of(&item)? {
            Some((tag, repaired)) => {
                if repaired {
                    warn_check(&format!(
                        "tag {tag:?} was not valid Unicode (lone surrogates): kept with U+FFFD"
                    ));
                }
                out.push(tag);
            }
            None => warn_check(&format!(
                "a tag of type {} was dropped: tags are str",
                type_name(&item)
            )),
        }
    }
    Ok(out)
}

/// A `str` (repaired if it has lone surrogates: then true) or UTF-8 `bytes`; `None` for
/// anything else.
fn text_of(v: &Object<'_, Any>) -> pyhost::Result<Option<(String, bool)>> {
    if v.is_instance_of::<pyhost::types::Str>() {
        return Ok(Some(match v.extract::<String>() {
            Ok(s) => (s, false),
            Err(_) => (
                // Each lone surrogate becomes one U+FFFD.
                v.call_method1("encode", ("utf-16-le", "surrogatepass"))?
                    .call_method1("decode", ("utf-16-le", "replace"))?
                    .extract::<String>()?,
                true,
            ),
        }));
    }
    if v.is_instance_of::<pyhost::types::Bytes>() {
        let b: Vec<u8> = v.extract()?;
        let s = String::from_utf8_lossy(&b);
        let repaired = matches!(s, std::borrow::Cow::Owned(_));
        return Ok(Some((s.into_owned(), repaired)));
    }
    Ok(None)
}

/// A warning about what the running check submitted.
fn warn_check(what: &str) {
    let check = CurrentCheck::get().unwrap_or_else(|| "a check".to_owned());
    log::warn!("{check}: {what}");
}

/// The name of `v`'s type.
fn type_name(v: &Object<'_, Any>) -> String {
    v.getattr("__class__")
        .and_then(|c| c.getattr("__name__"))
        .and_then(|n| n.extract::<String>())
        .unwrap_or_else(|_| "?".to_owned())
}

/// A dict item as a string: missing or `None` gives `""`; another type is a `TypeError`
/// naming the key.
pub(super) fn dict_str(d: &Object<'_, Dict>, key: &str) -> pyhost::Result<String> {
    match d.get_item(key)? {
        None => Ok(String::new()),
        Some(v) if v.is_none() => Ok(String::new()),
        Some(v) => match text_of(&v)? {
            Some((s, _)) => Ok(s),
            None => Err(Error::type_error(format!(
                "event[{key:?}] must be a str, not {}",
                type_name(&v)
            ))),
        },
    }
}

/// A metric or service check name: not empty, no NUL or other control character (they would
/// reach every output raw).
pub(super) fn checked_name<'a>(what: &str, name: &'a str) -> pyhost::Result<&'a str> {
    if name.is_empty() {
        return Err(Error::value_error(format!("the {what} name is empty")));
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(Error::value_error(format!(
            "the {what} name {name:?} contains the control character {c:?}"
        )));
    }
    Ok(name)
}
