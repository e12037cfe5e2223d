#[pyhost::function]
fn connect(#[pyhost(default = 8080)] port: u16, host: String) -> String {
    format!("{host}:{port}")
}

fn main() {}
