//! `step` must not allocate (the VecEnv steps P environments per generation, every frame).
//! Own test binary: the counting global allocator would see other tests' allocations.

use hebbian::env::car_racing::{CarRacing, preprocess};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Only the measuring thread counts (libtest's own threads allocate concurrently).
    static TRACKING: Cell<bool> = const { Cell::new(false) };
}

fn count() {
    if TRACKING.with(Cell::get) {
        ALLOCS.fetch_add(1, Ordering::SeqCst);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn step_and_preprocess_do_not_allocate() {
    let mut env = CarRacing::new();
    env.reset(1234);
    let mut obs = vec![0f32; 3 * 84 * 84];
    TRACKING.with(|t| t.set(true));
    // Self-check: the counter sees an allocation on this thread.
    std::hint::black_box(vec![0u8; 16]);
    assert_eq!(ALLOCS.swap(0, Ordering::SeqCst), 1);
    let mut done_seen = false;
    for i in 0..1000 {
        // Drive, steer, brake and leave the road: exercises every branch of the step.
        let a = [
            ((i as f32) * 0.05).sin(),
            0.7,
            if i % 50 < 5 { 0.95 } else { 0.0 },
        ];
        let o = env.step(a);
        preprocess(env.frame(), &mut obs);
        done_seen |= o.done;
    }
    TRACKING.with(|t| t.set(false));
    assert!(done_seen);
    assert_eq!(
        ALLOCS.load(Ordering::SeqCst),
        0,
        "allocations during 1000 steps"
    );
}
