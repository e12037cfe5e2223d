#[pyhost::function]
fn scale(x: f64, #[pyhost(defualt = 2.0)] factor: f64) -> f64 {
    x * factor
}

fn main() {}
