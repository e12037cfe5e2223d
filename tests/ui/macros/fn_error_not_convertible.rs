#[pyhost::function]
fn parse(text: &str) -> Result<i64, std::num::ParseIntError> {
    text.parse()
}

fn main() {}
