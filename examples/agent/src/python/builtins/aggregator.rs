//! `aggregator`: metrics, service checks, events, histogram buckets and event-platform
//! events, submitted to the agent's aggregator.

use pyhost::types::{Any, Dict, Module};
use pyhost::{Error, Object};

use crate::aggregator::{Event, HistogramBucket, Metric, MetricType, ServiceCheck};

use super::*;

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
        name: checked_name("metric", name)?.to_owned(),
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
        name: checked_name("service check", name)?.to_owned(),
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
    if ev.title.is_empty() && ev.text.is_empty() {
        return Err(Error::value_error(
            "an event needs a msg_title or a msg_text (both are empty)",
        ));
    }
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
        name: checked_name("histogram bucket", name)?.to_owned(),
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
#[pyhost::module(name = "aggregator", state = State)]
pub(super) fn module(m: &Object<'_, Module>) -> pyhost::Result<()> {
    for kind in MetricType::ALL {
        m.add(kind.name().to_ascii_uppercase().as_str(), kind as i64)?;
    }
    m.add_function(pyhost::wrap_function!(submit_metric))?;
    m.add_function(pyhost::wrap_function!(submit_service_check))?;
    m.add_function(pyhost::wrap_function!(submit_event))?;
    m.add_function(pyhost::wrap_function!(submit_histogram_bucket))?;
    m.add_function(pyhost::wrap_function!(submit_event_platform_event))
}
