#[pyhost::class]
struct Gauge {
    value: f64,
}

#[pyhost::class]
impl Gauge {
    #[getter]
    fn value(&self) -> f64 {
        self.value
    }

    #[pyhost(name = "value")]
    fn read(&self) -> f64 {
        self.value
    }
}

fn main() {}
