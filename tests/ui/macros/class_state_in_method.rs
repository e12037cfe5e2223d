#[pyhost::class]
struct Check {
    name: String,
}

#[pyhost::class]
impl Check {
    fn run(&self, #[pyhost(state)] agg: &String) -> usize {
        self.name.len() + agg.len()
    }
}

fn main() {}
