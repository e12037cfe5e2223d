#[pyhost::function]
struct NotAFunction;

fn main() {}
