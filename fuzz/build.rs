fn main() {
    pyhost_build::dependent::emit();
}
