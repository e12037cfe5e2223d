// `error = ...` is for plain functions.
#[pyhost::function(error = ValueError)]
async fn fetch(url: String) -> Result<String, std::io::Error> {
    Ok(url)
}

// An async fn never blocks its caller.
#[pyhost::function(blocking)]
async fn wait(ms: u64) -> u64 {
    ms
}

fn main() {}
