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

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use pyhost::conversion::serde::to_python;
use pyhost::types::{Any, Dict, List, Module, Tuple};
use pyhost::{Builder, Error, Object, Python};

use crate::aggregator::{
    Aggregator, Event, HistogramBucket, LogLine, Metric, MetricType, ServiceCheck,
};
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
        .builtin_module("aggregator", aggregator::builtin(state.clone()))
        .builtin_module("datadog_agent", datadog_agent::builtin(state.clone()))
        .builtin_module("util", util::builtin())
        .builtin_module("_util", private_util::builtin())
        .builtin_module("tagger", tagger::builtin())
        .builtin_module("kubeutil", kubeutil::builtin())
        .builtin_module("containers", containers::builtin())
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

    fn get() -> Option<String> {
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
fn tags_of(tags: &Object<'_, Any>) -> pyhost::Result<Vec<String>> {
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
fn dict_str(d: &Object<'_, Dict>, key: &str) -> pyhost::Result<String> {
    Ok(d.get_item(key)?
        .and_then(|v| v.extract::<String>().ok())
        .unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------
// aggregator

/// Submits a metric sample: `submit_metric(check, check_id, mtype, name, value, tags,
/// hostname, flush_first_value=False)`.
#[pyhost::function]
#[allow(clippy::too_many_arguments)]
fn submit_metric(
    #[pyhost(state)] state: &State,
    #[pyhost(positional_only)] _check: Object<'_, Any>,
    #[pyhost(positional_only)] check_id: &str,
    #[pyhost(positional_only)] mtype: i64,
    #[pyhost(positional_only)] name: &str,
    #[pyhost(positional_only)] value: f64,
    #[pyhost(positional_only)] tags: Object<'_, Any>,
    #[pyhost(positional_only)] hostname: &str,
    #[pyhost(positional_only, default)] flush_first_value: Option<Object<'_, Any>>,
) -> pyhost::Result<()> {
    let kind = MetricType::from_code(mtype).ok_or_else(|| {
        Error::value_error(format!(
            "unknown metric type {mtype} (expected 0..=6, aggregator.GAUGE..HISTORATE)"
        ))
    })?;
    let metric = Metric {
        kind,
        name: name.to_owned(),
        value,
        tags: tags_of(&tags)?,
        hostname: hostname.to_owned(),
        flush_first_value: match flush_first_value {
            Some(f) => f.is_truthy()?,
            None => false,
        },
    };
    state
        .aggregator
        .with_batch(check_id, |b| b.metrics.push(metric));
    Ok(())
}

/// Submits a service check: `submit_service_check(check, check_id, name, status, tags,
/// hostname, message)`.
#[pyhost::function]
#[allow(clippy::too_many_arguments)]
fn submit_service_check(
    #[pyhost(state)] state: &State,
    #[pyhost(positional_only)] _check: Object<'_, Any>,
    #[pyhost(positional_only)] check_id: &str,
    #[pyhost(positional_only)] name: &str,
    #[pyhost(positional_only)] status: i64,
    #[pyhost(positional_only)] tags: Object<'_, Any>,
    #[pyhost(positional_only)] hostname: &str,
    #[pyhost(positional_only)] message: &str,
) -> pyhost::Result<()> {
    let sc = ServiceCheck {
        name: name.to_owned(),
        status,
        tags: tags_of(&tags)?,
        hostname: hostname.to_owned(),
        message: message.to_owned(),
    };
    state
        .aggregator
        .with_batch(check_id, |b| b.service_checks.push(sc));
    Ok(())
}

/// Submits an event: `submit_event(check, check_id, event)`, `event` a dict with `msg_title`,
/// `msg_text`, `timestamp`, `priority`, `host`, `tags`, `alert_type`, `aggregation_key`,
/// `source_type_name` and `event_type`.
#[pyhost::function]
fn submit_event(
    #[pyhost(state)] state: &State,
    #[pyhost(positional_only)] _check: Object<'_, Any>,
    #[pyhost(positional_only)] check_id: &str,
    #[pyhost(positional_only)] event: Object<'_, Any>,
) -> pyhost::Result<()> {
    let Ok(event) = event.downcast::<Dict>() else {
        return Err(Error::type_error("event must be a dict"));
    };
    let tags = match event.get_item("tags")? {
        Some(t) => tags_of(&t)?,
        None => Vec::new(),
    };
    let ev = Event {
        title: dict_str(event, "msg_title")?,
        text: dict_str(event, "msg_text")?,
        // rtloader: anything but a valid int (or -1) means "now".
        timestamp: event
            .get_item("timestamp")?
            .and_then(|t| {
                if t.is_instance_of::<pyhost::types::Int>() {
                    t.extract::<i64>().ok()
                } else {
                    None
                }
            })
            .filter(|t| *t != -1)
            .unwrap_or(0),
        priority: dict_str(event, "priority")?,
        host: dict_str(event, "host")?,
        tags,
        alert_type: dict_str(event, "alert_type")?,
        aggregation_key: dict_str(event, "aggregation_key")?,
        source_type_name: dict_str(event, "source_type_name")?,
        event_type: dict_str(event, "event_type")?,
    };
    state.aggregator.with_batch(check_id, |b| b.events.push(ev));
    Ok(())
}

/// Submits a histogram bucket: `submit_histogram_bucket(check, check_id, name, value,
/// lower_bound, upper_bound, monotonic, hostname, tags, flush_first_value=False)`.
#[pyhost::function]
#[allow(clippy::too_many_arguments)]
fn submit_histogram_bucket(
    #[pyhost(state)] state: &State,
    #[pyhost(positional_only)] _check: Object<'_, Any>,
    #[pyhost(positional_only)] check_id: &str,
    #[pyhost(positional_only)] name: &str,
    #[pyhost(positional_only)] value: i64,
    #[pyhost(positional_only)] lower_bound: f64,
    #[pyhost(positional_only)] upper_bound: f64,
    #[pyhost(positional_only)] monotonic: Object<'_, Any>,
    #[pyhost(positional_only)] hostname: &str,
    #[pyhost(positional_only)] tags: Object<'_, Any>,
    #[pyhost(positional_only, default)] flush_first_value: Option<Object<'_, Any>>,
) -> pyhost::Result<()> {
    let bucket = HistogramBucket {
        name: name.to_owned(),
        value,
        // rtloader parses the bounds as C floats.
        lower_bound: lower_bound as f32,
        upper_bound: upper_bound as f32,
        monotonic: monotonic.is_truthy()?,
        hostname: hostname.to_owned(),
        tags: tags_of(&tags)?,
        flush_first_value: match flush_first_value {
            Some(f) => f.is_truthy()?,
            None => false,
        },
    };
    state
        .aggregator
        .with_batch(check_id, |b| b.buckets.push(bucket));
    Ok(())
}

/// Submits an event-platform event (database monitoring samples and the like):
/// `submit_event_platform_event(check, check_id, raw_event, event_type)`.
#[pyhost::function]
fn submit_event_platform_event(
    #[pyhost(state)] state: &State,
    #[pyhost(positional_only)] _check: Object<'_, Any>,
    #[pyhost(positional_only)] check_id: &str,
    #[pyhost(positional_only)] raw_event: Object<'_, Any>,
    #[pyhost(positional_only)] event_type: &str,
) -> pyhost::Result<()> {
    let raw = match raw_event.extract::<String>() {
        Ok(s) => s,
        Err(_) => match raw_event.extract::<Vec<u8>>() {
            Ok(b) if raw_event.is_instance_of::<pyhost::types::Bytes>() => {
                String::from_utf8_lossy(&b).into_owned()
            }
            _ => return Err(Error::type_error("raw_event must be str or bytes")),
        },
    };
    let event_type = event_type.to_owned();
    state
        .aggregator
        .with_batch(check_id, |b| b.platform_events.push((event_type, raw)));
    Ok(())
}

/// The Datadog Agent's `aggregator` module: what checks submit.
#[pyhost::module(state = State)]
fn aggregator(m: &Object<'_, Module>) -> pyhost::Result<()> {
    for kind in MetricType::ALL {
        m.add(kind.name().to_ascii_uppercase().as_str(), kind as i64)?;
    }
    m.add_function(pyhost::wrap_function!(submit_metric))?;
    m.add_function(pyhost::wrap_function!(submit_service_check))?;
    m.add_function(pyhost::wrap_function!(submit_event))?;
    m.add_function(pyhost::wrap_function!(submit_histogram_bucket))?;
    m.add_function(pyhost::wrap_function!(submit_event_platform_event))
}

// ---------------------------------------------------------------------------------------------
// datadog_agent

/// The agent's version.
#[pyhost::function]
fn get_version() -> &'static str {
    AGENT_VERSION
}

/// The value of an agent setting, or `None` when it is not set.
#[pyhost::function]
fn get_config<'py>(
    py: Python<'py>,
    #[pyhost(state)] state: &State,
    key: &str,
) -> pyhost::Result<Object<'py, Any>> {
    match state.cfg.get(key) {
        Some(v) => to_python(py, &v),
        None => Ok(py.none().into_any()),
    }
}

/// The hostname checks report by default.
#[pyhost::function]
fn get_hostname(#[pyhost(state)] state: &State) -> String {
    state.cfg.hostname.clone()
}

/// The cluster name (`""` when not in a cluster).
#[pyhost::function]
fn get_clustername(#[pyhost(state)] state: &State) -> String {
    state.cfg.cluster_name.clone()
}

/// The host tags, JSON-encoded.
#[pyhost::function]
fn get_host_tags(#[pyhost(state)] state: &State) -> String {
    match state.cfg.get("tags") {
        Some(serde_json::Value::Array(tags)) => serde_json::json!({ "system": tags }).to_string(),
        _ => "{}".to_owned(),
    }
}

/// When the agent started, in seconds since the epoch.
#[pyhost::function]
fn get_process_start_time(#[pyhost(state)] state: &State) -> f64 {
    state
        .started
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Whether `tracemalloc_debug` is on (it is never on in this agent).
#[pyhost::function]
fn tracemalloc_enabled(
    #[pyhost(state)] state: &State,
    #[pyhost(args)] _args: Vec<Object<'_, Any>>,
) -> bool {
    state
        .cfg
        .get("tracemalloc_debug")
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// The default HTTP headers of the agent; `http_host` sets `Host`. Positional arguments are
/// ignored (historically `agentConfig`).
#[pyhost::function]
fn headers<'py>(
    py: Python<'py>,
    #[pyhost(args)] _args: Vec<Object<'py, Any>>,
    #[pyhost(kwargs)] kwargs: Option<Object<'py, Dict>>,
) -> pyhost::Result<Object<'py, Dict>> {
    let d = Dict::new(py);
    d.set_item("Accept", "text/html, */*")?;
    d.set_item("Content-Type", "application/x-www-form-urlencoded")?;
    d.set_item("User-Agent", format!("Datadog Agent/{AGENT_VERSION}"))?;
    if let Some(host) = kwargs
        .as_ref()
        .map(|k| k.get_item("http_host"))
        .transpose()?
        .flatten()
    {
        d.set_item("Host", host)?;
    }
    Ok(d)
}

/// The Rust log level of a Python logging level (7 TRACE … 50 CRITICAL), as the agent maps it.
pub fn log_level(level: i64) -> ::log::Level {
    match level {
        50 | 40 => ::log::Level::Error,
        30 => ::log::Level::Warn,
        10 => ::log::Level::Debug,
        7 => ::log::Level::Trace,
        _ => ::log::Level::Info,
    }
}

/// Logs a line at a Python logging level: `log(message, level)`. Lines formatted
/// `"<check_id> | (file:line) | text"` also go to that check's run report.
#[pyhost::function(name = "log")]
fn agent_log(
    #[pyhost(state)] state: &State,
    #[pyhost(positional_only)] message: &str,
    #[pyhost(positional_only)] level: i64,
) {
    let level = log_level(level);
    let named = message
        .split_once(" | ")
        .map(|(id, _)| id)
        .filter(|id| id.contains(':'));
    let check_id = named.map(str::to_owned).or_else(CurrentCheck::get);
    ::log::log!(target: "python", level, "{message}");
    if let Some(id) = check_id {
        let line = LogLine {
            level,
            message: message.to_owned(),
        };
        state.aggregator.with_batch(&id, |b| b.logs.push(line));
    }
}

/// Sends a log line to the logs pipeline: `send_log(log_line, check_id)`.
#[pyhost::function]
fn send_log(
    #[pyhost(state)] state: &State,
    #[pyhost(positional_only)] log_line: &str,
    #[pyhost(positional_only)] check_id: &str,
) {
    let line = log_line.to_owned();
    state
        .aggregator
        .with_batch(check_id, |b| b.sent_logs.push(line));
}

/// Records check metadata: `set_check_metadata(check_id, name, value)`.
#[pyhost::function]
fn set_check_metadata(
    #[pyhost(state)] state: &State,
    #[pyhost(positional_only)] check_id: &str,
    #[pyhost(positional_only)] name: &str,
    #[pyhost(positional_only)] value: &str,
) {
    let entry = (name.to_owned(), value.to_owned());
    state
        .aggregator
        .with_batch(check_id, |b| b.metadata.push(entry));
}

/// Sets tags on other hosts: `set_external_tags([(hostname, {source_type: [tags]}), ...])`.
#[pyhost::function]
fn set_external_tags(
    #[pyhost(state)] state: &State,
    #[pyhost(positional_only)] tags: Object<'_, Any>,
) -> pyhost::Result<()> {
    let Ok(list) = tags.downcast::<List>() else {
        return Err(Error::type_error("tags must be a list"));
    };
    let check_id = CurrentCheck::get().unwrap_or_else(|| "-".to_owned());
    for item in list.iter() {
        let Ok(pair) = item.downcast::<Tuple>() else {
            return Err(Error::type_error(
                "external host tags list must contain only tuples",
            ));
        };
        let Some(Ok(host)) = pair.get(0).ok().map(|h| h.extract::<String>()) else {
            return Err(Error::type_error("hostname is not a valid string"));
        };
        let Some(sources) = pair
            .get(1)
            .ok()
            .and_then(|s| s.to_owned().into_downcast::<Dict>().ok())
        else {
            return Err(Error::type_error(
                "second elem of the host tags tuple must be a dict",
            ));
        };
        // Only the first item of the dict is used, as in rtloader.
        let Some((source, list)) = sources.iter().next() else {
            continue;
        };
        let Ok(source) = source.extract::<String>() else {
            return Err(Error::type_error("source_type is not a valid string"));
        };
        let Ok(list) = list.downcast::<List>() else {
            return Err(Error::type_error("dict value must be a list of tags"));
        };
        let tags: Vec<String> = list
            .iter()
            .filter_map(|t| t.extract::<String>().ok())
            .collect();
        state
            .aggregator
            .with_batch(&check_id, |b| b.external_tags.push((host, source, tags)));
    }
    Ok(())
}

/// The file of a persistent-cache key: every byte outside `[A-Za-z0-9._-]` is `%XX`-escaped,
/// so keys cannot name other paths.
pub fn cache_file_name(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.starts_with('.') {
        out.replace_range(0..1, "%2E");
    }
    out
}

/// Reads a persistent-cache entry (`""` when there is none).
#[pyhost::function(error = RuntimeError)]
fn read_persistent_cache(
    #[pyhost(state)] state: &State,
    #[pyhost(positional_only)] key: &str,
) -> Result<String, std::io::Error> {
    match std::fs::read_to_string(state.cache_dir().join(cache_file_name(key))) {
        Ok(s) => Ok(s),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(e),
    }
}

/// Writes a persistent-cache entry, kept across runs and agent restarts.
#[pyhost::function(error = RuntimeError)]
fn write_persistent_cache(
    py: Python<'_>,
    #[pyhost(state)] state: &State,
    #[pyhost(positional_only)] key: &str,
    #[pyhost(positional_only)] value: &str,
) -> Result<(), std::io::Error> {
    let dir = state.cache_dir();
    let file = dir.join(cache_file_name(key));
    py.allow_threads(|| {
        std::fs::create_dir_all(&dir)?;
        std::fs::write(file, value)
    })
}

fn unsupported(what: &str) -> Error {
    Error::runtime_error(format!(
        "{what} is not supported by pyhost-agent: the Datadog Agent implements it in Go; \
         catch RuntimeError or leave the option that needs it off"
    ))
}

/// Not supported here: raises `RuntimeError`.
#[pyhost::function]
fn obfuscate_sql(
    query: &str,
    #[pyhost(default)] options: Option<String>,
) -> pyhost::Result<String> {
    let _ = (query, options);
    Err(unsupported("obfuscate_sql"))
}

/// Not supported here: raises `RuntimeError`.
#[pyhost::function]
fn obfuscate_sql_exec_plan(
    #[pyhost(positional_only)] plan: &str,
    #[pyhost(default)] normalize: Option<Object<'_, Any>>,
) -> pyhost::Result<String> {
    let _ = (plan, normalize);
    Err(unsupported("obfuscate_sql_exec_plan"))
}

/// Not supported here: raises `RuntimeError`.
#[pyhost::function]
fn obfuscate_mongodb_string(command: &str) -> pyhost::Result<String> {
    let _ = command;
    Err(unsupported("obfuscate_mongodb_string"))
}

/// Agent telemetry from a check (logged at debug level).
#[pyhost::function]
fn emit_agent_telemetry(check_name: &str, metric_name: &str, metric_value: f64, metric_type: &str) {
    ::log::debug!(target: "python", "telemetry {check_name}: {metric_name} = {metric_value} ({metric_type})");
}

/// A check reports an issue (logged as a warning).
#[pyhost::function]
fn report_issue(check_name: &str, issue_json: &str) {
    ::log::warn!(target: "python", "{check_name} reports an issue: {issue_json}");
}

/// A check resolves an issue it reported.
#[pyhost::function]
fn resolve_issue(issue_id: &str) {
    ::log::info!(target: "python", "issue {issue_id} resolved");
}

/// The Datadog Agent's `datadog_agent` module: the agent's settings and services.
#[pyhost::module(state = State)]
fn datadog_agent(m: &Object<'_, Module>) -> pyhost::Result<()> {
    for def in [
        pyhost::wrap_function!(get_version),
        pyhost::wrap_function!(get_config),
        pyhost::wrap_function!(get_hostname),
        pyhost::wrap_function!(get_clustername),
        pyhost::wrap_function!(get_host_tags),
        pyhost::wrap_function!(get_process_start_time),
        pyhost::wrap_function!(tracemalloc_enabled),
        pyhost::wrap_function!(headers),
        pyhost::wrap_function!(agent_log),
        pyhost::wrap_function!(send_log),
        pyhost::wrap_function!(set_check_metadata),
        pyhost::wrap_function!(set_external_tags),
        pyhost::wrap_function!(read_persistent_cache),
        pyhost::wrap_function!(write_persistent_cache),
        pyhost::wrap_function!(obfuscate_sql),
        pyhost::wrap_function!(obfuscate_sql_exec_plan),
        pyhost::wrap_function!(obfuscate_mongodb_string),
        pyhost::wrap_function!(emit_agent_telemetry),
        pyhost::wrap_function!(report_issue),
        pyhost::wrap_function!(resolve_issue),
    ] {
        m.add_function(def)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// util, _util

/// The Datadog Agent's `util` module (only `headers`).
#[pyhost::module(name = "util")]
fn util(m: &Object<'_, Module>) -> pyhost::Result<()> {
    m.add_function(pyhost::wrap_function!(headers))
}

/// Runs `command` (a list of str, no shell) with the GIL released; see `get_subprocess_output`.
fn subprocess_output_impl<'py>(
    py: Python<'py>,
    command: &Object<'py, Any>,
    raise_on_empty: Option<&Object<'py, Any>>,
    env: Option<&Object<'py, Any>>,
) -> pyhost::Result<Object<'py, Tuple>> {
    let Ok(list) = command.downcast::<List>() else {
        return Err(Error::type_error("command args is not a list"));
    };
    if list.is_empty() {
        return Err(Error::type_error("invalid command: empty list"));
    }
    let argv: Vec<String> = list
        .iter()
        .map(|a| a.extract::<String>())
        .collect::<pyhost::Result<_>>()
        .map_err(|_| Error::type_error("command argument must be valid strings"))?;
    let mut vars: Vec<(String, String)> = Vec::new();
    if let Some(env) = env.filter(|e| !e.is_none()) {
        let Ok(env) = env.downcast::<Dict>() else {
            return Err(Error::type_error("env is not a dict"));
        };
        for (k, v) in env.iter() {
            let k = k
                .extract::<String>()
                .map_err(|_| Error::type_error("env key is not a string"))?;
            let v = v
                .extract::<String>()
                .map_err(|_| Error::type_error("env value is not a string"))?;
            vars.push((k, v));
        }
    }
    let raise_on_empty = match raise_on_empty {
        None => false,
        Some(r) if r.is_instance_of::<pyhost::types::Bool>() => r.is_truthy()?,
        Some(_) => {
            return Err(Error::type_error(
                "bad raise_on_empty argument: should be bool",
            ));
        }
    };
    let (stdout, stderr, code) = py.allow_threads(move || {
        let mut cmd = std::process::Command::new(&argv[0]);
        cmd.args(&argv[1..]).stdin(std::process::Stdio::null());
        if !vars.is_empty() {
            cmd.env_clear().envs(vars);
        }
        match cmd.output() {
            Ok(out) => (
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
                i64::from(out.status.code().unwrap_or(-1)),
            ),
            Err(e) => (String::new(), format!("cannot run {}: {e}", argv[0]), 127),
        }
    });
    if raise_on_empty && stdout.is_empty() {
        let class = py.import("_util")?.getattr("SubprocessOutputEmptyError")?;
        let class = pyhost::ExceptionType::custom(&class)?;
        return Err(pyhost::PyErr::new(
            class,
            "get_subprocess_output expected output but had none.",
        )
        .into());
    }
    Tuple::new(
        py,
        [
            stdout.into_python(py)?,
            stderr.into_python(py)?,
            code.into_python(py)?,
        ],
    )
}

use pyhost::IntoPython as _;

/// Runs a command (a list of str, no shell) and returns `(stdout, stderr, returncode)`.
#[pyhost::function(
    name = "get_subprocess_output",
    text_signature = "(command, raise_on_empty=False, *, env=None)"
)]
fn get_subprocess_output<'py>(
    py: Python<'py>,
    command: Object<'py, Any>,
    #[pyhost(default)] raise_on_empty: Option<Object<'py, Any>>,
    #[pyhost(keyword_only, default)] env: Option<Object<'py, Any>>,
) -> pyhost::Result<Object<'py, Tuple>> {
    subprocess_output_impl(py, &command, raise_on_empty.as_ref(), env.as_ref())
}

/// Runs a command (a list of str, no shell) and returns `(stdout, stderr, returncode)`.
#[pyhost::function(
    name = "subprocess_output",
    text_signature = "(command, raise_on_empty=False, *, env=None)"
)]
fn subprocess_output<'py>(
    py: Python<'py>,
    command: Object<'py, Any>,
    #[pyhost(default)] raise_on_empty: Option<Object<'py, Any>>,
    #[pyhost(keyword_only, default)] env: Option<Object<'py, Any>>,
) -> pyhost::Result<Object<'py, Tuple>> {
    subprocess_output_impl(py, &command, raise_on_empty.as_ref(), env.as_ref())
}

/// The Datadog Agent's `_util` module: running commands.
#[pyhost::module(name = "_util")]
fn private_util(m: &Object<'_, Module>) -> pyhost::Result<()> {
    let py = m.py();
    let ns = py.new_namespace()?;
    py.exec_with(
        "class SubprocessOutputEmptyError(Exception):\n    pass\nSubprocessOutputEmptyError.__module__ = '_util'\n",
        &ns,
        None,
    )?;
    let class = ns
        .get_item("SubprocessOutputEmptyError")?
        .ok_or_else(|| Error::runtime_error("class not defined"))?;
    m.add("SubprocessOutputEmptyError", class)?;
    m.add_function(pyhost::wrap_function!(get_subprocess_output))?;
    m.add_function(pyhost::wrap_function!(subprocess_output))
}

// ---------------------------------------------------------------------------------------------
// tagger, kubeutil, containers

/// The tags of an entity (`LOW`, `ORCHESTRATOR` or `HIGH` cardinality). This agent has no
/// tagger: the list is empty.
#[pyhost::function]
fn tag(
    #[pyhost(positional_only)] entity_id: &str,
    #[pyhost(positional_only)] cardinality: i64,
) -> pyhost::Result<Vec<String>> {
    let _ = entity_id;
    if !(0..=2).contains(&cardinality) {
        return Err(Error::type_error("Invalid cardinality"));
    }
    Ok(Vec::new())
}

/// Deprecated form of `tag`: `high_card > 0` means `HIGH`.
#[pyhost::function]
fn get_tags(
    #[pyhost(positional_only)] entity_id: &str,
    #[pyhost(positional_only)] high_card: i64,
) -> Vec<String> {
    let _ = (entity_id, high_card);
    Vec::new()
}

/// The Datadog Agent's `tagger` module.
#[pyhost::module(name = "tagger")]
fn tagger(m: &Object<'_, Module>) -> pyhost::Result<()> {
    m.add("LOW", 0)?;
    m.add("ORCHESTRATOR", 1)?;
    m.add("HIGH", 2)?;
    m.add_function(pyhost::wrap_function!(tag))?;
    m.add_function(pyhost::wrap_function!(get_tags))
}

/// The kubelet connection settings (none here: an empty dict).
#[pyhost::function]
fn get_connection_info(py: Python<'_>) -> Object<'_, Dict> {
    Dict::new(py)
}

/// The Datadog Agent's `kubeutil` module.
#[pyhost::module(name = "kubeutil")]
fn kubeutil(m: &Object<'_, Module>) -> pyhost::Result<()> {
    m.add_function(pyhost::wrap_function!(get_connection_info))
}

/// Whether a container is excluded from collection (nothing is, here).
#[pyhost::function]
fn is_excluded(
    #[pyhost(positional_only)] name: &str,
    #[pyhost(positional_only)] image: &str,
    #[pyhost(positional_only, default)] namespace: Option<String>,
) -> bool {
    let _ = (name, image, namespace);
    false
}

/// The Datadog Agent's `containers` module.
#[pyhost::module(name = "containers")]
fn containers(m: &Object<'_, Module>) -> pyhost::Result<()> {
    m.add_function(pyhost::wrap_function!(is_excluded))
}
