#[pyhost::class]
struct Token {
    text: String,
}

#[pyhost::class]
impl Token {
    fn into_text(self) -> String {
        self.text
    }
}

fn main() {}
