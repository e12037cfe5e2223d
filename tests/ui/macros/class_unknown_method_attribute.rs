#[pyhost::class]
struct Point {
    x: f64,
}

#[pyhost::class]
impl Point {
    #[gettter]
    fn x(&self) -> f64 {
        self.x
    }
}

fn main() {}
