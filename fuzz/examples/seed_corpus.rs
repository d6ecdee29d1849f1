//! Writes the seed inputs of `src/seeds.rs` to corpus/<target>/, named by content
//! (SHA-1, as libFuzzer names its corpus files), next to whatever is there already.
//!
//! cargo run --example seed_corpus   (from fuzz/)

use sha1::{Digest, Sha1};

fn main() -> std::io::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut written = 0;
    for (target, input) in faye_websocket_native_fuzz::seeds::all() {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        let name: String = Sha1::digest(&input).iter().map(|b| format!("{b:02x}")).collect();
        std::fs::write(dir.join(name), &input)?;
        written += 1;
    }
    println!("{written} seeds under {}", root.display());
    Ok(())
}
