//! `kubeutil`: the kubelet connection (none: this agent runs outside Kubernetes).

use pyhost::types::{Dict, Module};
use pyhost::{Object, Python};

/// The kubelet connection settings (none here: an empty dict).
#[pyhost::function]
fn get_connection_info(py: Python<'_>) -> Object<'_, Dict> {
    Dict::new(py)
}

/// The Datadog Agent's `kubeutil` module.
#[pyhost::module(name = "kubeutil")]
pub(super) fn module(m: &Object<'_, Module>) -> pyhost::Result<()> {
    m.add_function(pyhost::wrap_function!(get_connection_info))
}
