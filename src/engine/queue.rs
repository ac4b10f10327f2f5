//! The event queue: a timing wheel of one-microsecond slots over the next 2¹⁴ µs (~16 ms), with
//! a binary heap for the events due later, handing events back in (time, scheduling order).
//!
//! Why not only a `std::collections::BinaryHeap`: a discrete-event simulation of a network
//! schedules most of its events a few microseconds to a few milliseconds ahead (latencies, think
//! times, processing), where a wheel puts and takes an event in constant time — a slot is a
//! first-in first-out list, and a bitmap of occupied slots finds the next one — instead of a
//! heap's ~log₂ n unpredictable comparisons per event. The rare event due farther ahead (a
//! checkpoint interval, a failure, a restart delay) waits in the heap and moves into the wheel as
//! soon as its time comes within the wheel's span, before anything else can be scheduled at that
//! time, so ties at one instant still run in the order they were scheduled. Together with one pool
//! for the channels' in-flight messages (`net::FifoLinks`), it made the simulation of the
//! 64-process bank about 1.25 times faster (alternating runs of `benches/bank.rs`'s child).

use super::SimTime;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// The wheel spans `WHEEL_SLOTS` microseconds from now.
const WHEEL_BITS: u32 = 14;
const WHEEL_SLOTS: usize = 1 << WHEEL_BITS;
const SLOT_MASK: u64 = WHEEL_SLOTS as u64 - 1;
/// Words of the occupied-slot bitmap, and of its summary (one bit per non-empty word).
const BITMAP_WORDS: usize = WHEEL_SLOTS / 64;
const SUMMARY_WORDS: usize = BITMAP_WORDS / 64;
/// The end of a list.
const NONE: u32 = u32::MAX;

/// One slot of the wheel: a list of pool entries, oldest first.
#[derive(Clone, Copy)]
struct Slot {
    head: u32,
    tail: u32,
}

/// An event in the wheel, linked to the next one of its slot (or, when free, to the next free
/// entry).
#[derive(Clone, Copy)]
struct Node<E> {
    event: E,
    next: u32,
}

/// An event due beyond the wheel's span.
struct Far<E> {
    time_us: u64,
    sequence: u64,
    event: E,
}

impl<E> PartialEq for Far<E> {
    fn eq(&self, other: &Self) -> bool {
        self.time_us == other.time_us && self.sequence == other.sequence
    }
}
impl<E> Eq for Far<E> {}
impl<E> PartialOrd for Far<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Far<E> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest (time, sequence) first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time_us, other.sequence).cmp(&(self.time_us, self.sequence))
    }
}

/// A deterministic priority queue of events.
///
/// Events come out in (time, scheduling order): ties at the same instant run in the order they
/// were scheduled. `E` is meant to be a small `Copy` enum so that the hot loop moves a few machine
/// words and never allocates.
pub struct EventQueue<E> {
    /// The wheel: the slot of time `t` is `t mod WHEEL_SLOTS`; every event in it is due in
    /// `[now_us, now_us + WHEEL_SLOTS)`, so a slot holds one instant.
    slots: Vec<Slot>,
    /// Bit `s` set when slot `s` is not empty.
    occupied: Vec<u64>,
    /// Bit `w` set when word `w` of `occupied` is not zero.
    summary: [u64; SUMMARY_WORDS],
    /// The wheel's events; freed entries are reused last-in first-out, so the entries in use stay
    /// few and in cache.
    pool: Vec<Node<E>>,
    free: u32,
    in_wheel: usize,
    /// Events due at or after `now_us + WHEEL_SLOTS`, in (time, sequence) order.
    far: BinaryHeap<Far<E>>,
    far_sequence: u64,
    now_us: u64,
    popped_total: u64,
    /// Sum over pops of the events still waiting, for [`EventQueue::mean_pending`].
    pending_sum: u64,
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
            slots: vec![
                Slot {
                    head: NONE,
                    tail: NONE,
                };
                WHEEL_SLOTS
            ],
            occupied: vec![0; BITMAP_WORDS],
            summary: [0; SUMMARY_WORDS],
            pool: Vec::with_capacity(1024),
            free: NONE,
            in_wheel: 0,
            far: BinaryHeap::new(),
            far_sequence: 0,
            now_us: 0,
            popped_total: 0,
            pending_sum: 0,
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
        self.insert(self.now_us.saturating_add(delay_us), event);
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
        self.insert(time_us, event);
    }

    #[inline]
    fn insert(&mut self, time_us: u64, event: E) {
        if time_us - self.now_us < WHEEL_SLOTS as u64 {
            self.put_in_wheel(time_us, event);
        } else {
            self.far.push(Far {
                time_us,
                sequence: self.far_sequence,
                event,
            });
            self.far_sequence += 1;
        }
    }

    /// Appends `event` to the slot of `time_us`, which is within the wheel's span.
    #[inline]
    fn put_in_wheel(&mut self, time_us: u64, event: E) {
        let node = Node { event, next: NONE };
        let index = if self.free == NONE {
            self.pool.push(node);
            (self.pool.len() - 1) as u32
        } else {
            let index = self.free;
            self.free = self.pool[index as usize].next;
            self.pool[index as usize] = node;
            index
        };
        let slot_index = (time_us & SLOT_MASK) as usize;
        let slot = &mut self.slots[slot_index];
        if slot.head == NONE {
            slot.head = index;
            let word = slot_index / 64;
            self.occupied[word] |= 1 << (slot_index % 64);
            self.summary[word / 64] |= 1 << (word % 64);
        } else {
            self.pool[slot.tail as usize].next = index;
        }
        slot.tail = index;
        self.in_wheel += 1;
    }

    /// Moves into the wheel every far event that its span now reaches, earliest (and, at one
    /// instant, first scheduled) first. Called whenever the clock moves, before anything can be
    /// scheduled at the new time: so at any instant the events moved in come before those
    /// scheduled directly into the wheel, as their scheduling order says.
    #[inline]
    fn bring_far_events_in(&mut self) {
        let horizon_us = self.now_us.saturating_add(WHEEL_SLOTS as u64);
        while self.far.peek().is_some_and(|far| far.time_us < horizon_us) {
            let far = self.far.pop().expect("peeked");
            self.put_in_wheel(far.time_us, far.event);
        }
    }

    /// The first occupied slot at or after `start`, going round the wheel (the wheel must not be
    /// empty).
    #[inline]
    fn next_occupied_slot(&self, start: usize) -> usize {
        let word = start / 64;
        let bits = self.occupied[word] & (!0u64 << (start % 64));
        if bits != 0 {
            return word * 64 + bits.trailing_zeros() as usize;
        }
        let word = self
            .next_occupied_word(word + 1)
            .or_else(|| self.next_occupied_word(0))
            .expect("the wheel is not empty");
        word * 64 + self.occupied[word].trailing_zeros() as usize
    }

    /// The first non-zero word of the bitmap at or after `from`, without going round.
    #[inline]
    fn next_occupied_word(&self, from: usize) -> Option<usize> {
        if from >= BITMAP_WORDS {
            return None;
        }
        let first = from / 64;
        let bits = self.summary[first] & (!0u64 << (from % 64));
        if bits != 0 {
            return Some(first * 64 + bits.trailing_zeros() as usize);
        }
        (first + 1..SUMMARY_WORDS)
            .find(|&s| self.summary[s] != 0)
            .map(|s| s * 64 + self.summary[s].trailing_zeros() as usize)
    }

    /// The time of the earliest event in the wheel (which must not be empty).
    #[inline]
    fn wheel_next_time_us(&self) -> u64 {
        let now_slot = (self.now_us & SLOT_MASK) as usize;
        let slot = self.next_occupied_slot(now_slot);
        self.now_us + ((slot as u64).wrapping_sub(now_slot as u64) & SLOT_MASK)
    }

    /// Removes the next event and advances the clock to its time.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        if self.in_wheel == 0 {
            // Nothing within the span: jump to the earliest far event.
            self.now_us = self.far.peek()?.time_us;
            self.bring_far_events_in();
        }
        let time_us = self.wheel_next_time_us();
        if time_us != self.now_us {
            self.now_us = time_us;
            self.bring_far_events_in();
        }
        let slot_index = (time_us & SLOT_MASK) as usize;
        let slot = &mut self.slots[slot_index];
        let index = slot.head;
        let node = self.pool[index as usize];
        slot.head = node.next;
        if node.next == NONE {
            slot.tail = NONE;
            let word = slot_index / 64;
            self.occupied[word] &= !(1 << (slot_index % 64));
            if self.occupied[word] == 0 {
                self.summary[word / 64] &= !(1 << (word % 64));
            }
        }
        self.pool[index as usize].next = self.free;
        self.free = index;
        self.in_wheel -= 1;
        self.popped_total += 1;
        self.pending_sum += self.len() as u64;
        Some((SimTime::from_micros(time_us), node.event))
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
        assert!(
            self.peek_time().is_none_or(|next| next >= time),
            "an event is due before {time_us}us"
        );
        if time_us > self.now_us {
            self.now_us = time_us;
            self.bring_far_events_in();
        }
        self.popped_total += 1;
        self.pending_sum += self.len() as u64;
    }

    /// The time of the next event, if any.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        if self.in_wheel > 0 {
            return Some(SimTime::from_micros(self.wheel_next_time_us()));
        }
        self.far.peek().map(|far| SimTime::from_micros(far.time_us))
    }

    /// Number of events waiting.
    pub fn len(&self) -> usize {
        self.in_wheel + self.far.len()
    }

    /// True when no event is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Mean number of events waiting at a pop: the queue size the engine really works with (the
    /// benchmark's ceiling loop uses it, so the comparison is like for like).
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
    /// times hours apart; and delays at the edge of the wheel's span, so that events kept apart
    /// (one in the wheel, one beyond it) fall due at the same instant.
    fn delay() -> impl proptest::strategy::Strategy<Value = u64> {
        let span = WHEEL_SLOTS as u64;
        proptest::prop_oneof![
            0u64..4,
            0u64..100_000,
            0u64..(1u64 << 50),
            proptest::sample::select(vec![1, span - 1, span, span + 1, 2 * span, 3 * span - 1]),
        ]
    }

    #[test]
    fn an_event_from_beyond_the_wheel_runs_before_one_scheduled_later_for_the_same_instant() {
        let span = WHEEL_SLOTS as u64;
        let mut queue = EventQueue::new();
        queue.schedule_at(SimTime::from_micros(span + 100), "far, scheduled first");
        queue.schedule_at(SimTime::from_micros(200), "near");
        assert_eq!(
            queue.pop().map(|(t, e)| (t.as_micros(), e)),
            Some((200, "near"))
        );
        // Now the far event's time is within the wheel's span; this one goes straight in.
        queue.schedule_at(SimTime::from_micros(span + 100), "near, scheduled second");
        let rest: Vec<_> = std::iter::from_fn(|| queue.pop()).map(|(_, e)| e).collect();
        assert_eq!(rest, ["far, scheduled first", "near, scheduled second"]);
    }

    proptest::proptest! {
        /// Against a reference model (sort everything by (time, scheduling order)), any mix of
        /// schedules, pops and clock advances by a script
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
