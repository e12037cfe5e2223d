//! Code that must not compile, with the expected messages in `tests/ui/**/*.stderr`: misuse of
//! the core API (GIL-bound values leaving their scope or thread, the token used where the GIL
//! is released) and of the macros, whose errors must point at the offending tokens and say how
//! to fix it. One trybuild run for both: one build of pyhost for all the cases.

#[test]
fn misuse_does_not_compile() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/core/*.rs");
    t.compile_fail("tests/ui/macros/*.rs");
}
