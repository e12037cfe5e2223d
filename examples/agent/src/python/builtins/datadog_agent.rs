//! `datadog_agent`: the agent's version, configuration, hostname and tags, logging, check
//! metadata, external tags, the persistent cache, and what pyhost-agent does not support.

use std::time::UNIX_EPOCH;

use pyhost::conversion::serde::to_python;
use pyhost::types::{Any, Dict, List, Module, Tuple};
use pyhost::{Error, Object, Python};

use crate::aggregator::LogLine;

use super::*;

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
pub(super) fn headers<'py>(
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
#[pyhost::module(name = "datadog_agent", state = State)]
pub(super) fn module(m: &Object<'_, Module>) -> pyhost::Result<()> {
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
