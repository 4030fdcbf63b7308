//! Batches across streams: every user of a shared session hands over its
//! items, and whoever completes a batch (or waited long enough) runs it for
//! all of them — the way a multi-stream muxer feeds one inference engine.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::error::OnnxError;
use crate::session::Model;
use crate::tensor::{TensorView, ViewData};

/// One batch item's outputs: (name, shape with batch 1, values).
pub type ItemOutputs = Vec<(String, Vec<i64>, Vec<f32>)>;

#[derive(Default)]
pub(crate) struct Pool {
    state: Mutex<PoolState>,
    changed: Condvar,
}

#[derive(Default)]
struct PoolState {
    next: u64,
    waiting: Vec<Entry>,
    done: HashMap<u64, Result<ItemOutputs, OnnxError>>,
    running: bool,
}

struct Entry {
    ticket: u64,
    input: String,
    /// The item's shape, without the batch dimension.
    shape: Vec<i64>,
    data: Vec<f32>,
}

impl Model {
    /// Runs `items` (each one batch item for the float input `input`) in
    /// batches of `batch` shared with every other caller of this session:
    /// a batch runs once `batch` items of one shape wait, or when the
    /// oldest of this caller's items waited `wait`. Blocks until all of
    /// this caller's items ran; returns their outputs in order.
    pub fn run_pooled(
        &self,
        input: &str,
        items: Vec<(Vec<i64>, Vec<f32>)>,
        batch: usize,
        wait: Duration,
    ) -> Vec<Result<ItemOutputs, OnnxError>> {
        let pool = &self.pool;
        let deadline = Instant::now() + wait;
        let mut state = pool.state.lock().unwrap();
        let tickets: Vec<u64> = items
            .into_iter()
            .map(|(shape, data)| {
                state.next += 1;
                let ticket = state.next;
                state.waiting.push(Entry {
                    ticket,
                    input: input.to_owned(),
                    shape,
                    data,
                });
                ticket
            })
            .collect();
        pool.changed.notify_all();
        loop {
            if tickets.iter().all(|t| state.done.contains_key(t)) {
                return tickets
                    .iter()
                    .map(|t| state.done.remove(t).expect("checked above"))
                    .collect();
            }
            let mine = state.waiting.iter().find(|e| tickets.contains(&e.ticket));
            let ready = mine.map(|first| {
                let alike = state
                    .waiting
                    .iter()
                    .filter(|e| e.input == first.input && e.shape == first.shape)
                    .count();
                alike >= batch || Instant::now() >= deadline
            });
            if !state.running && ready == Some(true) {
                let first = mine.expect("ready implies one of mine waits");
                let (input, shape) = (first.input.clone(), first.shape.clone());
                let mut taken = Vec::new();
                state.waiting.retain_mut(|e| {
                    if taken.len() < batch && e.input == input && e.shape == shape {
                        taken.push(Entry {
                            ticket: e.ticket,
                            input: String::new(),
                            shape: Vec::new(),
                            data: std::mem::take(&mut e.data),
                        });
                        false
                    } else {
                        true
                    }
                });
                state.running = true;
                drop(state);
                let results = self.run_batch(&input, &shape, &taken);
                state = pool.state.lock().unwrap();
                state.running = false;
                for (entry, result) in taken.iter().zip(results) {
                    state.done.insert(entry.ticket, result);
                }
                pool.changed.notify_all();
                continue;
            }
            let timeout = deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1));
            state = pool.changed.wait_timeout(state, timeout).unwrap().0;
        }
    }

    /// Runs the items as one batch and splits the float outputs per item.
    fn run_batch(&self, input: &str, shape: &[i64], items: &[Entry]) -> Vec<Result<ItemOutputs, OnnxError>> {
        let mut full = vec![items.len() as i64];
        full.extend(shape);
        let data: Vec<f32> = items.iter().flat_map(|e| e.data.iter().copied()).collect();
        let n = items.len();
        let result = self.run(
            &[(
                input,
                TensorView {
                    shape: &full,
                    data: ViewData::F32(&data),
                },
            )],
            |outputs| {
                let mut per_item: Vec<ItemOutputs> = vec![Vec::new(); n];
                for (name, view) in outputs {
                    let ViewData::F32(values) = view.data else { continue };
                    let size = values.len() / n.max(1);
                    let mut item_shape = view.shape.to_vec();
                    if let Some(first) = item_shape.first_mut() {
                        *first = 1;
                    }
                    for (i, item) in per_item.iter_mut().enumerate() {
                        item.push((
                            name.to_string(),
                            item_shape.clone(),
                            values[i * size..(i + 1) * size].to_vec(),
                        ));
                    }
                }
                per_item
            },
        );
        match result {
            Ok(per_item) => per_item.into_iter().map(Ok).collect(),
            Err(error) => (0..n).map(|_| Err(error.clone())).collect(),
        }
    }
}
