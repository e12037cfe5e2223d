#[derive(pyhost::FromPython)]
struct Borrowing<'a> {
    name: &'a str,
}

fn main() {}
