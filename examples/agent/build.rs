//! With the `python` feature, picks up the Python pyhost was built against (cfgs and the rpath
//! to a non-system libpython). Without it there is nothing to do: no Python is needed at all.
fn main() {
    if std::env::var_os("CARGO_FEATURE_PYTHON").is_some() {
        pyhost_build::dependent::emit();
    } else {
        pyhost_build::dependent::emit_if_present();
    }
}
