// A GIL-bound handle cannot move to another thread (use `unbind()` for that).
fn main() {
    let _ = pyhost::with_gil(|py| {
        let obj = py.eval("[]")?;
        std::thread::spawn(move || drop(obj));
        Ok(())
    });
}
