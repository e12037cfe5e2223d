#[pyhost::function(relase_gil)]
fn work(n: u64) -> u64 {
    n
}

fn main() {}
