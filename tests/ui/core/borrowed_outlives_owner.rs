// A borrowed view cannot outlive the handle it borrows from.
fn main() {
    let _ = pyhost::with_gil(|py| {
        let view = {
            let list = pyhost::types::List::new(py);
            list.as_borrowed()
        };
        drop(view);
        Ok(())
    });
}
