struct Check;

impl Check {
    #[pyhost::function]
    fn run(&self, n: i64) -> i64 {
        n
    }
}

fn main() {}
