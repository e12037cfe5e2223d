#[pyhost::function]
fn pair(a: i64, #[pyhost(name = "a")] b: i64) -> i64 {
    a + b
}

fn main() {}
