#[pyhost::function]
fn open(path: &str) -> std::fs::File {
    std::fs::File::open(path).unwrap()
}

fn main() {}
