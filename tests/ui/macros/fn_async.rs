#[pyhost::function]
async fn fetch(url: String) -> String {
    url
}

fn main() {}
