//! `containers`: container exclusion (nothing is excluded: there is no container runtime).

use pyhost::Object;
use pyhost::types::Module;

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
pub(super) fn module(m: &Object<'_, Module>) -> pyhost::Result<()> {
    m.add_function(pyhost::wrap_function!(is_excluded))
}
