//! Passes pyhost-sys's Python configuration on: the cfgs and rpath for pyhost's own tests and
//! examples, and `links` metadata (`DEP_PYHOST_*`) for crates that depend on pyhost.
fn main() {
    pyhost_build::dependent::emit();
    pyhost_build::dependent::forward();
}
