#[pyhost::class]
struct Point {
    x: f64,
}

#[pyhost::class]
impl Point {
    fn __eq__(&self, other: f64) -> bool {
        self.x == other
    }
}

fn main() {}
