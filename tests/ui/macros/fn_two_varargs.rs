#[pyhost::function]
fn both(#[pyhost(args)] a: Vec<i64>, #[pyhost(args)] b: Vec<i64>) -> usize {
    a.len() + b.len()
}

fn main() {}
