use std::collections::HashMap;

#[pyhost::function]
fn options(#[pyhost(kwargs)] rest: HashMap<String, i64>, verbose: bool) -> usize {
    let _ = verbose;
    rest.len()
}

fn main() {}
