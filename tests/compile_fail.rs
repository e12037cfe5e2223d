//! Misuse of the core API that must not compile: GIL-bound values leaving their scope or
//! thread, and the token used where the GIL is released.

#[test]
fn core_misuse_does_not_compile() {
    trybuild::TestCases::new().compile_fail("tests/ui/core/*.rs");
}
