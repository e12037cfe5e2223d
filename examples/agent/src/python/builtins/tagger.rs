//! `tagger`: the tags of an entity (none: this agent has no tagger).

use pyhost::types::Module;
use pyhost::{Error, Object};

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
pub(super) fn module(m: &Object<'_, Module>) -> pyhost::Result<()> {
    m.add("LOW", 0)?;
    m.add("ORCHESTRATOR", 1)?;
    m.add("HIGH", 2)?;
    m.add_function(pyhost::wrap_function!(tag))?;
    m.add_function(pyhost::wrap_function!(get_tags))
}
