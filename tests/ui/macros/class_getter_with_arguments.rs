#[pyhost::class]
struct Point {
    x: f64,
}

#[pyhost::class]
impl Point {
    #[getter]
    fn scaled(&self, factor: f64) -> f64 {
        self.x * factor
    }
}

fn main() {}
