#[pyhost::module]
fn aggregator() -> pyhost::Result<()> {
    Ok(())
}

fn main() {}
