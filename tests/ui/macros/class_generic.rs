#[pyhost::class]
struct Stack<T> {
    items: Vec<T>,
}

fn main() {}
