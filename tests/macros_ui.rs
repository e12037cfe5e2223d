//! Misuse of the macros must not compile, and the error must point at the offending tokens and
//! say how to fix it. The expected messages are in `tests/ui/macros/*.stderr`.

#[test]
fn macro_misuse_does_not_compile() {
    trybuild::TestCases::new().compile_fail("tests/ui/macros/*.rs");
}
