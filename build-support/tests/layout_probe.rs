//! The layout probe compiled against the real headers of this machine's Python: true facts
//! pass, a wrong size or offset is reported by name.

use pyhost_build::{Discovery, Env, layout};

fn bindings_with(size_of_object: u64, ob_type_offset: u64, config_size: &str) -> String {
    format!(
        "pub type PyObject = _object;\n\
         const _: () = {{\n\
         [\"Size of _object\"][::std::mem::size_of::<_object>() - {size_of_object}usize];\n\
         [\"Offset of field: _object::ob_type\"][::std::mem::offset_of!(_object, ob_type) - {ob_type_offset}usize];\n\
         [\"Size of PyCompilerFlags\"][::std::mem::size_of::<PyCompilerFlags>() - {config_size}usize];\n\
         }};\n"
    )
}

#[test]
fn probe_accepts_true_layouts_and_names_wrong_ones() {
    let env = Env::from_process();
    let resolved = Discovery::new(&env)
        .resolve()
        .expect("this test needs a Python with headers (apt-get install python3-dev)");
    let host = resolved.target.host.clone();
    let mut cc = cc::Build::new();
    cc.target(&host)
        .host(&host)
        .opt_level(0)
        .cargo_metadata(false);
    let work = std::env::temp_dir().join(format!("pyhost-layout-{}", std::process::id()));
    let mut includes = resolved.config.include_dirs.clone();
    // The probe includes Python.h directly here instead of pyhost-sys's shim header.
    includes.push(work.clone());

    let good = layout::facts_from_bindings(&bindings_with(16, 8, "8"));
    assert_eq!(good.len(), 3);
    let failed = layout::check(
        &cc,
        &layout::probe_source(&good, "Python.h"),
        &includes,
        &work,
    )
    .unwrap();
    assert!(failed.is_empty(), "{failed:?}");

    let bad = layout::facts_from_bindings(&bindings_with(24, 8, "12"));
    let failed = layout::check(
        &cc,
        &layout::probe_source(&bad, "Python.h"),
        &includes,
        &work,
    )
    .unwrap();
    assert_eq!(
        failed,
        ["sizeof(PyObject) == 24", "sizeof(PyCompilerFlags) == 12"]
    );
    let _ = std::fs::remove_dir_all(&work);
}
