//! Builds the plugins in the repository's `plugins/` workspace — the
//! examples and the deliberately bad ones — for tests and benchmarks. Test
//! support, not part of the host: it runs cargo, so it needs a checkout.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `cargo build --release --target wasm32-wasip2` in `plugins_dir`
/// (its `.cargo/config.toml` turns on SIMD) and returns the folder holding
/// the `.wasm` files. Builds under `$CARGO_TARGET_DIR/plugins` when set.
pub fn build(plugins_dir: &Path) -> Result<PathBuf, String> {
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir).join("plugins"),
        None => plugins_dir.join("target"),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--quiet", "--release", "--target", "wasm32-wasip2"])
        .env("CARGO_TARGET_DIR", &target_dir)
        // The host's flags are not the guest's (see plugins/.cargo/config.toml).
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .current_dir(plugins_dir)
        .output()
        .map_err(|e| format!("cannot run cargo in {}: {e}", plugins_dir.display()))?;
    if !output.status.success() {
        return Err(format!(
            "building the plugins in {} failed (is the wasm32-wasip2 target installed? `rustup target add wasm32-wasip2`):\n{}",
            plugins_dir.display(),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(target_dir.join("wasm32-wasip2").join("release"))
}
