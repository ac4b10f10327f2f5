//! The event queue: a binary heap ordered by (time, sequence number), plus a FIFO side queue for
//! events scheduled "now" (zero delay), which are most of the protocol's reactions and never need
//! to touch the heap.

use super::SimTime;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

struct Entry<E> {
    time_us: u64,
    sequence: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.time_us == other.time_us && self.sequence == other.sequence
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest (time, sequence) first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time_us, other.sequence).cmp(&(self.time_us, self.sequence))
    }
}

/// A deterministic priority queue of events.
///
/// Events come out in (time, sequence) order, where the sequence number is a counter incremented
/// at every `schedule`. Ties at the same instant therefore run in scheduling order. `E` is meant to
/// be a small `Copy` enum so that the hot loop moves a few machine words and never allocates.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    /// Events scheduled for the current instant. Every entry here was scheduled after every heap
    /// entry at the same instant (those were scheduled at earlier instants), so draining heap
    /// entries at `now` first and then this queue preserves (time, sequence) order.
    immediate: VecDeque<E>,
    now_us: u64,
    next_sequence: u64,
    popped_total: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue at time zero.
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(1024),
            immediate: VecDeque::with_capacity(256),
            now_us: 0,
            next_sequence: 0,
            popped_total: 0,
        }
    }

    /// The current virtual time: the time of the last event popped.
    #[inline]
    pub fn now(&self) -> SimTime {
        SimTime::from_micros(self.now_us)
    }

    /// Schedules `event` to happen `delay_us` microseconds from now.
    #[inline]
    pub fn schedule_after(&mut self, delay_us: u64, event: E) {
        if delay_us == 0 {
            self.next_sequence += 1;
            self.immediate.push_back(event);
        } else {
            self.schedule_at(
                SimTime::from_micros(self.now_us.saturating_add(delay_us)),
                event,
            );
        }
    }

    /// Schedules `event` at absolute time `time` (which must not be in the past).
    #[inline]
    pub fn schedule_at(&mut self, time: SimTime, event: E) {
        let time_us = time.as_micros();
        assert!(
            time_us >= self.now_us,
            "event scheduled in the past: {time_us}us < now {}us",
            self.now_us
        );
        if time_us == self.now_us {
            self.next_sequence += 1;
            self.immediate.push_back(event);
            return;
        }
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.heap.push(Entry {
            time_us,
            sequence,
            event,
        });
    }

    /// Removes the next event and advances the clock to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let heap_has_now = self.heap.peek().is_some_and(|e| e.time_us == self.now_us);
        let event = if !heap_has_now && let Some(event) = self.immediate.pop_front() {
            event
        } else {
            let entry = self.heap.pop()?;
            self.now_us = entry.time_us;
            entry.event
        };
        self.popped_total += 1;
        Some((SimTime::from_micros(self.now_us), event))
    }

    /// The time of the next event, if any.
    pub fn peek_time(&self) -> Option<SimTime> {
        if !self.immediate.is_empty() {
            return Some(self.now());
        }
        self.heap.peek().map(|e| SimTime::from_micros(e.time_us))
    }

    /// Number of events waiting.
    pub fn len(&self) -> usize {
        self.heap.len() + self.immediate.len()
    }

    /// True when no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Events handed out so far: the engine's unit of work, reported as events per second.
    pub fn popped_total(&self) -> u64 {
        self.popped_total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_in_time_order_and_ties_in_scheduling_order() {
        let mut queue = EventQueue::new();
        queue.schedule_at(SimTime::from_micros(20), "late");
        queue.schedule_at(SimTime::from_micros(10), "first at 10");
        queue.schedule_at(SimTime::from_micros(10), "second at 10");
        let order: Vec<_> = std::iter::from_fn(|| queue.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, ["first at 10", "second at 10", "late"]);
    }

    #[test]
    fn zero_delay_events_run_after_earlier_scheduled_events_at_the_same_instant() {
        let mut queue = EventQueue::new();
        queue.schedule_at(SimTime::from_micros(5), 1);
        queue.schedule_at(SimTime::from_micros(5), 2);
        let (time, first) = queue.pop().unwrap();
        assert_eq!((time.as_micros(), first), (5, 1));
        // Scheduled now, with zero delay: must come after event 2, which was scheduled earlier.
        queue.schedule_after(0, 3);
        queue.schedule_after(1, 4);
        let rest: Vec<_> = std::iter::from_fn(|| queue.pop())
            .map(|(t, e)| (t.as_micros(), e))
            .collect();
        assert_eq!(rest, [(5, 2), (5, 3), (6, 4)]);
        assert_eq!(queue.popped_total(), 4);
    }

    #[test]
    #[should_panic(expected = "in the past")]
    fn scheduling_in_the_past_is_a_bug() {
        let mut queue = EventQueue::new();
        queue.schedule_at(SimTime::from_micros(5), ());
        queue.pop();
        queue.schedule_at(SimTime::from_micros(4), ());
    }
}
