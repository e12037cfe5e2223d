#[pyhost::function]
fn total(#[pyhost(args)] rest: i64) -> i64 {
    rest
}

fn main() {}
