// The closure run without the GIL cannot use the token.
fn main() {
    let _ = pyhost::with_gil(|py| {
        py.allow_threads(|| {
            let _ = py.eval("1");
        });
        Ok(())
    });
}
