use pyhost::types::Any;
use pyhost::Object;

// The body may outlive the caller's wait: owned arguments only.
#[pyhost::function(blocking)]
fn lookup(key: &str, obj: Object<'_, Any>) -> usize {
    let _ = obj;
    key.len()
}

// `blocking` already releases the GIL.
#[pyhost::function(blocking, release_gil)]
fn both(n: u64) -> u64 {
    n
}


// An async fn's future outlives the call too.
#[pyhost::function]
async fn later(key: &str) -> usize {
    key.len()
}

fn main() {}
