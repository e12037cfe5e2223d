//! Allocation counters (`Builder::track_allocations`): Python's allocations counted per
//! interpreter, readable from Rust; nothing counted, and nothing claimed, when off. Each
//! case runs in its own process (one start per process).

mod common;

use common::{assert_child_ok, is_child, run_child};
use pyhost::memory;
use pyhost::subinterpreter::{self, InterpreterConfig};
use pyhost::{Executor, Interpreter, with_gil};

/// Kept in `builtins` between calls (each `exec` has a namespace of its own).
const MAKE: &str = "import builtins\nbuiltins.data = [str(i) * 3 for i in range(100_000)]";

#[test]
fn allocations_are_counted_per_interpreter() {
    if is_child("allocations_are_counted_per_interpreter") {
        Interpreter::builder()
            .track_allocations(true)
            .start()
            .unwrap();
        assert!(memory::tracking());
        let before = with_gil(|py| Ok(memory::allocations_of(py)))
            .unwrap()
            .unwrap();
        assert!(before.allocations > 1000, "the start itself: {before:?}");
        with_gil(|py| py.exec(MAKE)).unwrap();
        let made = with_gil(|py| Ok(memory::allocations_of(py)))
            .unwrap()
            .unwrap();
        // 100,000 strings and the list: at least one block each.
        assert!(
            made.allocations - before.allocations >= 100_000,
            "{before:?} -> {made:?}"
        );
        assert!(made.allocated_bytes > before.allocated_bytes + 3_000_000);
        assert!(made.arena_bytes > 1 << 20, "{made:?}");
        with_gil(|py| py.exec("import builtins, gc\ndel builtins.data\ngc.collect()")).unwrap();
        let freed = with_gil(|py| Ok(memory::allocations_of(py)))
            .unwrap()
            .unwrap();
        assert!(freed.frees - made.frees >= 100_000, "{made:?} -> {freed:?}");
        assert!(
            freed.live_blocks() < made.live_blocks() - 90_000,
            "{made:?} -> {freed:?}"
        );
        println!("main interpreter: {made:?} -> {freed:?}");

        if subinterpreter::supported() {
            // A subinterpreter's allocations are its own; the main interpreter's barely move.
            let main_before = with_gil(|py| Ok(memory::allocations_of(py)))
                .unwrap()
                .unwrap();
            let ex = Executor::builder()
                .workers(1)
                .subinterpreters(InterpreterConfig::default())
                .build()
                .unwrap();
            let (id, sub) = ex
                .run(|py| {
                    py.exec(MAKE)?;
                    Ok((
                        subinterpreter::interpreter_id(py),
                        memory::allocations_of(py),
                    ))
                })
                .unwrap();
            let sub = sub.expect("counted");
            assert_eq!(sub.interpreter, Some(id));
            assert!(sub.allocations >= 100_000, "{sub:?}");
            let main_after = with_gil(|py| Ok(memory::allocations_of(py)))
                .unwrap()
                .unwrap();
            assert!(
                main_after.allocations - main_before.allocations < 50_000,
                "{main_before:?} -> {main_after:?}"
            );
            let all = memory::by_interpreter().unwrap();
            assert!(all.iter().any(|a| a.interpreter == Some(id)));
            assert!(all.iter().any(|a| a.interpreter == Some(0)));
            let total = memory::allocations().unwrap();
            assert!(total.allocations >= sub.allocations + main_after.allocations);
            println!("subinterpreter {id}: {sub:?}");
            ex.shutdown(pyhost::executor::ShutdownMode::Drain).unwrap();
        }
        return;
    }
    let out = assert_child_ok(&run_child("allocations_are_counted_per_interpreter", &[]));
    eprintln!("{out}");
}

#[test]
fn nothing_is_counted_unless_asked() {
    if is_child("nothing_is_counted_unless_asked") {
        Interpreter::builder().start().unwrap();
        with_gil(|py| py.exec(MAKE)).unwrap();
        assert!(!memory::tracking());
        assert_eq!(memory::allocations(), None);
        assert_eq!(with_gil(|py| Ok(memory::allocations_of(py))).unwrap(), None);
        return;
    }
    assert_child_ok(&run_child("nothing_is_counted_unless_asked", &[]));
}
