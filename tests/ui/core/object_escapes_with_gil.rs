// A GIL-bound handle cannot outlive the `with_gil` closure.
fn main() {
    let escaped = pyhost::with_gil(|py| py.eval("1"));
    drop(escaped);
}
