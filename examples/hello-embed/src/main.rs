//! The README's five-minute guide: start Python, call into it, and let it call Rust.

use pyhost::types::Module;
use pyhost::{Interpreter, Object};

/// Adds two numbers in Rust.
#[pyhost::function]
fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Greets someone, with an optional punctuation mark.
#[pyhost::function]
fn greet(name: &str, #[pyhost(default = "!".to_owned())] mark: String) -> String {
    format!("Hello, {name}{mark}")
}

/// A module of Rust functions, importable from Python as `rusty`.
#[pyhost::module(name = "rusty")]
fn rusty(m: &Object<'_, Module>) -> pyhost::Result<()> {
    m.add_function(pyhost::wrap_function!(add))?;
    m.add_function(pyhost::wrap_function!(greet))
}

fn main() -> pyhost::Result<()> {
    Interpreter::builder()
        .builtin_module("rusty", rusty::builtin())
        .start()?;
    pyhost::with_gil(|py| {
        // Rust calls Python...
        let platform = py.import("platform")?;
        let machine: String = platform.call_method0("machine")?.extract()?;
        let version: String = platform.call_method0("python_version")?.extract()?;
        println!("Python {version} on {machine}");

        // ...and Python calls Rust.
        let total: i64 = py.eval("__import__('rusty').add(40, 2)")?.extract()?;
        let hello: String = py.eval("__import__('rusty').greet('pyhost')")?.extract()?;
        println!("{hello} 40 + 2 = {total}");

        // Errors are values, with the Python traceback.
        if let Err(e) = py.exec("import rusty\nrusty.add(1, 'two')") {
            println!("as expected: {e}");
        }
        Ok(())
    })?;
    pyhost::shutdown()
}
