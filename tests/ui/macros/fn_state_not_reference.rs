use std::sync::Arc;

#[pyhost::function]
fn submit(#[pyhost(state)] agg: Arc<String>, name: &str) {
    let _ = (agg, name);
}

fn main() {}
