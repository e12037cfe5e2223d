use pyhost::Python;

#[pyhost::function(release_gil)]
fn work(py: Python<'_>, n: u64) -> u64 {
    let _ = py;
    n
}

fn main() {}
