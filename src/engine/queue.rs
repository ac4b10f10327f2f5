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
    /// Sum over pops of the events still waiting, for [`EventQueue::mean_pending`].
    pending_sum: u64,
    /// The heap's top entry was handed out by `pop` but is still physically in the heap. The next
    /// `schedule` overwrites it in place (one sift-down instead of a pop's sift-down plus a push's
    /// sift-up): most handlers schedule at least one follow-up event, so this halves heap work.
    stale_top: bool,
}

impl<E: Copy> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> EventQueue<E> {
    /// An empty queue at time zero.
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(1024),
            immediate: VecDeque::with_capacity(256),
            now_us: 0,
            next_sequence: 0,
            popped_total: 0,
            pending_sum: 0,
            stale_top: false,
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
        let entry = Entry {
            time_us,
            sequence,
            event,
        };
        if self.stale_top {
            self.stale_top = false;
            *self.heap.peek_mut().expect("a stale top is in the heap") = entry;
        } else {
            self.heap.push(entry);
        }
    }

    /// Removes a top entry that was already handed out.
    #[inline]
    fn drop_stale_top(&mut self) {
        if self.stale_top {
            self.stale_top = false;
            self.heap.pop();
        }
    }

    /// Removes the next event and advances the clock to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.drop_stale_top();
        let heap_has_now = self.heap.peek().is_some_and(|e| e.time_us == self.now_us);
        let event = if !heap_has_now && let Some(event) = self.immediate.pop_front() {
            event
        } else {
            let entry = self.heap.peek()?;
            self.now_us = entry.time_us;
            self.stale_top = true;
            entry.event
        };
        self.popped_total += 1;
        self.pending_sum += self.heap.len() as u64;
        Some((SimTime::from_micros(self.now_us), event))
    }

    /// Advances the clock to `time` for an event from a source beside the queue — a script a
    /// world merges with its queue — and counts it as an event handed out. Nothing waiting may be
    /// due earlier: the caller has just compared `time` with [`EventQueue::peek_time`].
    pub fn advance_to(&mut self, time: SimTime) {
        let time_us = time.as_micros();
        assert!(
            time_us >= self.now_us,
            "the clock cannot go back: {time_us}us < now {}us",
            self.now_us
        );
        debug_assert!(
            self.peek_time().is_none_or(|next| next >= time),
            "an event is due before {time_us}us"
        );
        if time_us > self.now_us {
            assert!(
                self.immediate.is_empty(),
                "events of the current instant are still waiting"
            );
        }
        self.now_us = time_us;
        self.popped_total += 1;
        self.pending_sum += self.heap.len() as u64;
    }

    /// The time of the next event, if any.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        self.drop_stale_top();
        if !self.immediate.is_empty() {
            return Some(self.now());
        }
        self.heap.peek().map(|e| SimTime::from_micros(e.time_us))
    }

    /// Number of events waiting.
    pub fn len(&self) -> usize {
        self.heap.len() - usize::from(self.stale_top) + self.immediate.len()
    }

    /// True when no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Mean number of events waiting in the heap at a pop: the heap size the engine really works
    /// with (the benchmark's ceiling loop uses it, so the comparison is like for like).
    pub fn mean_pending(&self) -> f64 {
        self.pending_sum as f64 / self.popped_total.max(1) as f64
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

    /// Delays a run really has: zero (a reaction now), a few microseconds, milliseconds, and
    /// times hours apart.
    fn delay() -> impl proptest::strategy::Strategy<Value = u64> {
        proptest::prop_oneof![0u64..4, 0u64..100_000, 0u64..(1u64 << 50)]
    }

    proptest::proptest! {
        /// Against a reference model (sort everything by (time, scheduling order)), any mix of
        /// schedules, pops (with the in-place reuse of a popped top) and clock advances by a script
        /// beside the queue — with times far apart and many at one instant — gives the same order.
        #[test]
        fn pops_in_time_then_scheduling_order(
            script in proptest::collection::vec((delay(), 0u8..4), 1..300)
        ) {
            let mut queue = EventQueue::new();
            let mut reference: Vec<(u64, u64, u32)> = Vec::new(); // (time, sequence, id)
            let mut sequence = 0;
            let mut popped = Vec::new();
            let mut expected = Vec::new();
            for (id, &(delay, action)) in script.iter().enumerate() {
                let id = id as u32;
                let now = queue.now().as_micros();
                match action {
                    0 => {
                        if let Some((time, event)) = queue.pop() {
                            popped.push((time.as_micros(), event));
                            reference.sort();
                            let (t, _, e) = reference.remove(0);
                            expected.push((t, e));
                        }
                    }
                    1 => {
                        // A script's action is due: the clock jumps, at most to the next event.
                        reference.sort();
                        let next = reference.first().map(|&(t, _, _)| t);
                        proptest::prop_assert_eq!(queue.peek_time().map(|t| t.as_micros()), next);
                        let target = next.map_or(now + delay, |next| next.min(now + delay));
                        if target == now || next != Some(now) {
                            queue.advance_to(SimTime::from_micros(target));
                        }
                    }
                    _ => {
                        queue.schedule_after(delay, id);
                        reference.push((now + delay, sequence, id));
                        sequence += 1;
                    }
                }
                proptest::prop_assert_eq!(queue.len(), reference.len());
            }
            while let Some((time, event)) = queue.pop() {
                popped.push((time.as_micros(), event));
            }
            reference.sort();
            expected.extend(reference.into_iter().map(|(t, _, e)| (t, e)));
            proptest::prop_assert_eq!(popped, expected);
        }
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
