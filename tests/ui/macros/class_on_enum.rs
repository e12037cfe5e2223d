#[pyhost::class]
enum Color {
    Red,
    Green,
}

fn main() {}
