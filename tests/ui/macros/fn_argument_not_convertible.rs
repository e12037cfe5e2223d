struct Config {
    path: String,
}

#[pyhost::function]
fn load(config: Config) -> String {
    config.path
}

fn main() {}
