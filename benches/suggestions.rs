//! Benchmark: suggested pairs between 10,000 locations and 10,000 QuickBooks customers (the
//! simulator's, with a location typed for about half of them and the rest of the locations
//! unrelated), as `GET /api/v1/suggestions` computes them once the rows are read: profiles built
//! (normalization), the block index, candidates scored, ties marked, pairs chosen. Prints the
//! median time of each step and the precision and recall against the known pairs.
//! Run with `cargo bench --bench suggestions` (add a number to change the size).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use qbsync::matching::sample::Sample;
use qbsync::matching::{DEFAULT_THRESHOLD, suggest};

fn main() {
    let size: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let generated = Instant::now();
    let sample = Sample::generate(7, size, 50, size / 2);
    // As many locations as customers.
    let n_locations = sample.locations.len();
    println!(
        "generated {} customers and {n_locations} locations ({} true pairs) in {:.2?}",
        sample.customers.len(),
        sample.truth.len(),
        generated.elapsed()
    );

    let mut profile_times = Vec::new();
    let mut suggest_times = Vec::new();
    let mut found = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let locations = sample.location_profiles();
        let customers = sample.customer_profiles();
        profile_times.push(started.elapsed());
        let started = Instant::now();
        found = suggest(&locations, &customers, DEFAULT_THRESHOLD);
        suggest_times.push(started.elapsed());
    }
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let (profiles, pairs) = (median(&mut profile_times), median(&mut suggest_times));
    let truth: HashSet<(usize, usize)> = sample.truth.iter().copied().collect();
    let right = found.iter().filter(|s| truth.contains(&(s.left, s.right))).count();
    println!(
        "{n_locations} x {} : profiles {profiles:.2?}, index + candidates + pairs {pairs:.2?}, total {:.2?} (median of 5)",
        sample.customers.len(),
        profiles + pairs
    );
    println!(
        "{} pairs suggested at {DEFAULT_THRESHOLD}: precision {:.3}, recall {:.3}",
        found.len(),
        right as f64 / found.len().max(1) as f64,
        right as f64 / truth.len().max(1) as f64
    );
}
