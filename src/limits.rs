//! Resource limits, checked before anything is allocated: input files are read with a size cap
//! (so `/dev/zero` given as a config is an error, not an endless read), and population-sized
//! requests are estimated against this machine's memory, so a typo in `population` is a clear
//! error instead of a "capacity overflow" panic or an allocation abort half an hour in.

use std::io::Read;
use std::path::Path;

/// Largest config file read (TOML experiment files are a few hundred bytes).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;
/// Largest model or checkpoint file read (the biggest genome, CarRacing static, is ~1.8 MB).
pub const MAX_TENSOR_FILE_BYTES: u64 = 1 << 30;
/// Largest action CSV or MJCF file read.
pub const MAX_TEXT_INPUT_BYTES: u64 = 64 << 20;
/// Most rollouts one `eval` or experiment runs per variant (the paper uses 100).
pub const MAX_ROLLOUTS: usize = 100_000;
/// Largest render frame side, in pixels (GIF allows 65,535; nobody watches a 4k GIF).
pub const MAX_RENDER_SIDE: u32 = 4096;

/// Largest single tensor a GPU backend binds: wgpu caps a storage-buffer binding at
/// `i32::MAX` bytes (wgpu-hal's `MAX_I32_BINDING_SIZE`) on every adapter without 64-bit shader
/// indexing, whatever the card's memory; a larger tensor fails to allocate.
pub const MAX_DEVICE_TENSOR_BYTES: u64 = i32::MAX as u64;

/// Checks `1 <= rollouts <= MAX_ROLLOUTS`; the message says what was asked for and the bounds
/// (the caller names the option or key it came from).
pub fn check_rollout_count(rollouts: usize) -> Result<(), String> {
    if rollouts == 0 || rollouts > MAX_ROLLOUTS {
        return Err(format!(
            "must be 1 to {MAX_ROLLOUTS} (got {rollouts}); the paper uses 100"
        ));
    }
    Ok(())
}

/// Most agents whose per-agent tensors (genome rows of `genome_len` numbers, and every layer's
/// five coefficient arrays over `synapses`) fit one device tensor each.
pub fn device_tensor_agents(genome_len: usize, synapses: usize) -> usize {
    let bytes_per_agent = 4 * genome_len.max(5 * synapses).max(1) as u64;
    (MAX_DEVICE_TENSOR_BYTES / bytes_per_agent).max(1) as usize
}

/// Reads a whole file, refusing files larger than `cap` bytes (`what` names the kind of file
/// in the error). Special files that never end are caught by the cap, not by their size.
pub fn read_capped(path: &Path, cap: u64, what: &str) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    if file.metadata()?.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("is a directory, expected a {what}"),
        ));
    }
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "is larger than the {} limit for a {what}; not a {what}?",
                human_bytes(cap as f64)
            ),
        ));
    }
    Ok(bytes)
}

/// [`read_capped`] for text files.
pub fn read_text_capped(path: &Path, cap: u64, what: &str) -> std::io::Result<String> {
    String::from_utf8(read_capped(path, cap, what)?).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("is not UTF-8 text; not a {what}?"),
        )
    })
}

/// This machine's physical memory in bytes (`/proc/meminfo`; 16 GiB where it cannot be read).
pub fn physical_memory() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|rest| {
                    rest.trim()
                        .trim_end_matches("kB")
                        .trim()
                        .parse::<f64>()
                        .ok()
                })
        })
        .map_or(16.0 * 1024.0 * 1024.0 * 1024.0, |kib| kib * 1024.0)
}

/// Refuses a request whose estimated memory (`bytes`, computed in f64 so that absurd sizes do
/// not overflow) exceeds this machine's memory. `request` names the setting and its value,
/// `what` says what the memory would hold.
pub fn check_memory(request: &str, bytes: f64, what: &str) -> Result<(), String> {
    let available = physical_memory();
    if bytes > available {
        return Err(format!(
            "{request} needs ~{} for {what}, more than this machine's {} of memory",
            human_bytes(bytes),
            human_bytes(available)
        ));
    }
    Ok(())
}

/// Bytes a population of `agents` needs when `at_once` of them are evaluated together: per
/// agent its fitness, ranks and episode bookkeeping (64 B); per agent at once its genome row
/// (on the host and as a tensor) and its weights with their folded rule coefficients (5
/// numbers per synapse). The ES forms the rows chunk by chunk and never holds its noise whole.
pub fn population_bytes(agents: usize, at_once: usize, genome_len: usize, synapses: usize) -> f64 {
    agents as f64 * 64.0 + at_once as f64 * (2.0 * genome_len as f64 + 5.0 * synapses as f64) * 4.0
}

/// Bytes as a short human figure: `3.7 TB`, `512 MiB`-style decimal units.
pub fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes;
    let mut unit = 0;
    while v >= 1000.0 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    if unit == UNITS.len() - 1 && v >= 1000.0 {
        return format!("{bytes:.1e} B");
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endless_files_stop_at_the_cap() {
        let err = read_capped(Path::new("/dev/zero"), 1024, "config file").unwrap_err();
        assert!(err.to_string().contains("larger than"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ok.txt");
        std::fs::write(&f, b"hello").unwrap();
        assert_eq!(read_capped(&f, 5, "x").unwrap(), b"hello");
        assert!(read_capped(&f, 4, "x").is_err());
        assert!(read_capped(dir.path(), 4, "x").is_err());
    }

    #[test]
    fn memory_estimates_name_the_request_and_never_overflow() {
        let err = check_memory("population = 1e18", 1e18 * 61_440.0 * 4.0, "genomes").unwrap_err();
        assert!(
            err.contains("population = 1e18") && err.contains("genomes"),
            "{err}"
        );
        assert!(check_memory("small", 1024.0, "x").is_ok());
        assert_eq!(human_bytes(3.7e12), "3.7 TB");
        assert_eq!(human_bytes(512.0), "512.0 B");
    }
}
