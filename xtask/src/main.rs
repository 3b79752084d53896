//! `cargo xtask bundle keyboardia --release`: builds the .clap and .vst3 bundles into target/bundled/.

fn main() -> nice_plug_xtask::Result<()> {
    nice_plug_xtask::main()
}
