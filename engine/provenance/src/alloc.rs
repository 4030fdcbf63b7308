//! An allocator for binaries that sign large files (`slate`,
//! `slate-bench`): the system one, with transparent huge pages asked for
//! on large blocks. A binary opts in with `#[global_allocator]`.
//!
//! Media work allocates blocks of hundreds of megabytes (the c2pa crate
//! reads a whole hash range into one buffer); with 4 KiB pages, faulting
//! them in cost as much as hashing them (`slate bench c2pa`, perf). With
//! THP in `madvise` mode (Debian's default) the kernel maps such a block in
//! 2 MiB pages once asked, 512 times fewer faults.

use std::alloc::{GlobalAlloc, Layout, System};

pub struct HugeBlocks;

/// Blocks from this size up are advised.
const LARGE: usize = 8 << 20;
const HUGE_PAGE: usize = 2 << 20;

/// Asks for huge pages on the whole 2 MiB pages inside `[start, start + size)`.
fn advise(start: *mut u8, size: usize) {
    if start.is_null() || size < LARGE {
        return;
    }
    let first = (start as usize).next_multiple_of(HUGE_PAGE);
    let end = (start as usize + size) & !(HUGE_PAGE - 1);
    if end > first {
        // SAFETY: the range lies inside the block just allocated; madvise
        // only changes how its pages are backed, and failing is harmless.
        unsafe {
            libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
        }
    }
}

// SAFETY: every call goes to `System`; `advise` only adds a hint.
unsafe impl GlobalAlloc for HugeBlocks {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let block = unsafe { System.alloc(layout) };
        advise(block, layout.size());
        block
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let block = unsafe { System.alloc_zeroed(layout) };
        advise(block, layout.size());
        block
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        unsafe { System.dealloc(block, layout) }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let block = unsafe { System.realloc(block, layout, new_size) };
        advise(block, new_size);
        block
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn large_blocks_are_usable_zeroed_and_growable() {
        let mut block = vec![0u8; 64 << 20];
        assert!(block.iter().all(|&b| b == 0));
        block[12345] = 7;
        block.resize(96 << 20, 1);
        assert_eq!((block[12345], block[(96 << 20) - 1]), (7, 1));
    }
}
