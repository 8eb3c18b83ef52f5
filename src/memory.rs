//! Memory accounting for the memory limit: per thread, the bytes allocated
//! and not yet freed.
//!
//! The `apisat` binary's global allocator (`src/main.rs`, the only unsafe
//! code, outside this `forbid(unsafe_code)` library) calls [`record`] on
//! every allocation and free; the
//! engine reads [`thread_allocated`] at the start of saturation and stops
//! with a memory limit once the difference passes `--max-memory`. Counting
//! is per thread because a batch run checks variants side by side on a
//! pool, and one variant's limit must not depend on its neighbours (a
//! saturation runs on one thread from start to end). Memory freed on
//! another thread than the one that allocated it is credited to the freeing
//! thread; the engine frees what it allocates on its own thread, so its
//! figure is exact up to that. Where no [`Counting`] allocator is installed
//! (the library inside another program, tests), nothing calls [`record`], the count stays at zero
//! and the limit never triggers.

use std::cell::Cell;

thread_local! {
    // Const-initialised, no destructor: safe to touch from the allocator.
    static ALLOCATED: Cell<isize> = const { Cell::new(0) };
}

/// Records `delta` bytes allocated (negative: freed) by this thread; the
/// binary's global allocator calls it on every allocation and free. It
/// never allocates.
pub fn record(delta: isize) {
    // `try_with`: during thread teardown the slot may be gone; skip then.
    let _ = ALLOCATED.try_with(|c| c.set(c.get().wrapping_add(delta)));
}

/// Net bytes allocated by this thread so far (allocations minus frees).
pub fn thread_allocated() -> isize {
    ALLOCATED.try_with(|c| c.get()).unwrap_or(0)
}

/// Parses a size such as `4G`, `512M`, `64K`, `4GiB` or a byte count.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let n: usize = num
        .parse()
        .map_err(|_| format!("`{text}` is not a size: write e.g. 4G, 512M or 1000000"))?;
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`: use K, M, G or T (powers of 1024)"
            ))
        }
    };
    n.checked_mul(mult)
        .filter(|b| *b > 0)
        .ok_or_else(|| format!("`{text}` is not a usable size (zero or too large)"))
}

/// A byte count as the user would write it: `4 GiB`, `512 MiB`, `100 KiB`.
pub fn show_size(bytes: usize) -> String {
    for (unit, shift) in [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    if bytes >= 1 << 20 {
        return format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64);
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print_in_the_units_given() {
        assert_eq!(parse_size("4G"), Ok(4 << 30));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("64kib"), Ok(64 << 10));
        assert_eq!(parse_size("1000"), Ok(1000));
        assert!(parse_size("0").is_err());
        assert!(parse_size("4X").unwrap_err().contains("unknown unit"));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999999999999T").is_err());
        assert_eq!(show_size(4 << 30), "4 GiB");
        assert_eq!(show_size(512 << 20), "512 MiB");
        assert_eq!(show_size(1000), "1000 bytes");
    }
}
