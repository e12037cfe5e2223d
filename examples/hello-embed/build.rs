//! Re-emits what pyhost-sys found: the rpath to a non-system libpython and the `py_3_X` cfgs.
fn main() {
    pyhost_build::dependent::emit();
}
