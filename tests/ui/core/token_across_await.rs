// A future that holds the GIL token across an `.await` is not `Send`.
fn require_send<F: Send>(_: F) {}

fn main() {
    let _ = pyhost::with_gil(|py| {
        require_send(async move {
            let token = py;
            std::future::ready(()).await;
            let _ = token.eval("1");
        });
        Ok(())
    });
}
