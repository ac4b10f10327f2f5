//! Channels: how messages travel between processes.
//!
//! A FIFO channel is a queue of messages with their arrival times. A message's arrival time is its
//! send time plus a latency draw, but never earlier than the message ahead of it — that is what
//! "first in, first out" means for a channel with variable delay. Only the *head* of each channel
//! needs an event in the engine's queue, which keeps the heap small and FIFO order free.
//!
//! A non-FIFO channel (an assumption breaker, for teaching) lets every message keep its own
//! arrival time, so a later message may overtake an earlier one; each such message is an event of
//! its own, parked in an [`UnorderedSlots`] table until it arrives.
//!
//! Flink's network (buffers, credits, flushing) is configured in [`dataflow`]; the buffers and
//! queues themselves live with the tasks in [`crate::dataflow`].

pub mod dataflow;

use crate::engine::SimTime;

/// The in-flight contents of every FIFO channel of a world, in one pool.
///
/// Each channel is a singly linked queue threaded through a shared table of in-flight messages,
/// whose freed entries are reused last-in first-out. Why not a `VecDeque` per channel: with
/// thousands of channels (64 processes on a complete graph have 4032) each delivery would touch a
/// buffer of its own, a cache miss per message; here the messages in flight share a table about
/// as large as what is in flight, which stays in cache, and a channel is 16 bytes of head, tail
/// and last arrival time.
#[derive(Clone, Debug)]
pub struct FifoLinks<M> {
    channels: Vec<LinkEnds>,
    pool: Vec<PoolEntry<M>>,
    /// Head of the list of free pool entries (`NONE` when empty).
    free: u32,
}

#[derive(Clone, Copy, Debug)]
struct LinkEnds {
    head: u32,
    tail: u32,
    /// The arrival time of the last message sent: no later message may arrive before it.
    last_arrival_us: u64,
}

#[derive(Clone, Copy, Debug)]
struct PoolEntry<M> {
    arrival_us: u64,
    /// The next message on the same channel, or the next free entry.
    next: u32,
    message: Option<M>,
}

/// The end of a list.
const NONE: u32 = u32::MAX;

impl<M: Copy> FifoLinks<M> {
    /// `channels` empty FIFO channels, numbered from 0.
    pub fn new(channels: usize) -> Self {
        FifoLinks {
            channels: vec![
                LinkEnds {
                    head: NONE,
                    tail: NONE,
                    last_arrival_us: 0,
                };
                channels
            ],
            pool: Vec::with_capacity(1024),
            free: NONE,
        }
    }

    /// Puts a message on `channel` at `now` with the drawn `latency_us`: it arrives at
    /// `now + latency_us`, but never before the message ahead of it. Returns the arrival time if
    /// this message is now the head (the caller must schedule its arrival), else `None`.
    #[inline]
    pub fn send(
        &mut self,
        channel: usize,
        now: SimTime,
        latency_us: u64,
        message: M,
    ) -> Option<SimTime> {
        let ends = &mut self.channels[channel];
        let arrival_us = now
            .after_us(latency_us)
            .as_micros()
            .max(ends.last_arrival_us);
        ends.last_arrival_us = arrival_us;
        let entry = PoolEntry {
            arrival_us,
            next: NONE,
            message: Some(message),
        };
        let index = if self.free == NONE {
            self.pool.push(entry);
            (self.pool.len() - 1) as u32
        } else {
            let index = self.free;
            self.free = self.pool[index as usize].next;
            self.pool[index as usize] = entry;
            index
        };
        let ends = &mut self.channels[channel];
        if ends.head == NONE {
            ends.head = index;
            ends.tail = index;
            Some(SimTime::from_micros(arrival_us))
        } else {
            self.pool[ends.tail as usize].next = index;
            ends.tail = index;
            None
        }
    }

    /// Takes the head message off `channel` (it has arrived). Returns it and, if another message
    /// is behind it, that one's arrival time, which the caller must schedule.
    #[inline]
    pub fn deliver_head(&mut self, channel: usize) -> (M, Option<SimTime>) {
        let ends = &mut self.channels[channel];
        let index = ends.head;
        assert!(
            index != NONE,
            "an arrival event exists only for a non-empty channel"
        );
        let entry = &mut self.pool[index as usize];
        let message = entry.message.take().expect("a message in flight");
        let next = entry.next;
        entry.next = self.free;
        self.free = index;
        ends.head = next;
        if next == NONE {
            ends.tail = NONE;
            (message, None)
        } else {
            let arrival_us = self.pool[next as usize].arrival_us;
            (message, Some(SimTime::from_micros(arrival_us)))
        }
    }

    /// The messages in flight on `channel`, oldest first, with their arrival times.
    pub fn in_flight(&self, channel: usize) -> impl Iterator<Item = (SimTime, M)> + '_ {
        let mut index = self.channels[channel].head;
        std::iter::from_fn(move || {
            (index != NONE).then(|| {
                let entry = &self.pool[index as usize];
                index = entry.next;
                (
                    SimTime::from_micros(entry.arrival_us),
                    entry.message.expect("a message in flight"),
                )
            })
        })
    }
}

/// Parking spaces for messages on non-FIFO channels, each waiting for its own arrival event.
/// Freed slots are reused, so a long run does not grow the table.
#[derive(Clone, Debug)]
pub struct UnorderedSlots<M> {
    slots: Vec<Option<M>>,
    free: Vec<u32>,
}

impl<M> Default for UnorderedSlots<M> {
    fn default() -> Self {
        UnorderedSlots {
            slots: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<M> UnorderedSlots<M> {
    /// Parks a message; returns its slot number.
    pub fn park(&mut self, message: M) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(message);
                slot
            }
            None => {
                self.slots.push(Some(message));
                (self.slots.len() - 1) as u32
            }
        }
    }

    /// Takes the message out of its slot.
    pub fn take(&mut self, slot: u32) -> M {
        self.free.push(slot);
        self.slots[slot as usize]
            .take()
            .expect("a slot is taken exactly once")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_channel_never_lets_a_fast_message_overtake_a_slow_one() {
        let mut links = FifoLinks::new(2);
        // A slow message at t=0 (arrives at 100) and a fast one at t=10 (would arrive at 15).
        assert_eq!(
            links.send(1, SimTime::ZERO, 100, 'a'),
            Some(SimTime::from_micros(100))
        );
        assert_eq!(links.send(1, SimTime::from_micros(10), 5, 'b'), None);
        let waiting: Vec<_> = links.in_flight(1).collect();
        let at_100 = SimTime::from_micros(100);
        assert_eq!(waiting, [(at_100, 'a'), (at_100, 'b')]);
        let (first, next) = links.deliver_head(1);
        assert_eq!((first, next), ('a', Some(at_100)));
        let (second, next) = links.deliver_head(1);
        assert_eq!((second, next), ('b', None));
        assert_eq!(links.in_flight(1).count(), 0);
    }

    proptest::proptest! {
        /// Channels sharing the pool behave exactly as separate FIFO queues: every channel delivers
        /// what was sent on it, in order, and reports the same "next arrival" a queue of its own
        /// would — whatever the interleaving of sends and deliveries across channels.
        #[test]
        fn shared_channels_behave_as_separate_queues(
            script in proptest::collection::vec((0usize..4, proptest::bool::ANY, 0u64..50), 1..400)
        ) {
            let mut links = FifoLinks::new(4);
            let mut queues: Vec<std::collections::VecDeque<(u64, usize)>> = vec![Default::default(); 4];
            let mut last = [0u64; 4];
            for (step, &(channel, send, latency_us)) in script.iter().enumerate() {
                let now = SimTime::from_micros(step as u64);
                if send || queues[channel].is_empty() {
                    let arrival = (step as u64 + latency_us).max(last[channel]);
                    last[channel] = arrival;
                    let was_empty = queues[channel].is_empty();
                    queues[channel].push_back((arrival, step));
                    let head = links.send(channel, now, latency_us, step);
                    proptest::prop_assert_eq!(head, was_empty.then(|| SimTime::from_micros(arrival)));
                } else {
                    let (_, expected) = queues[channel].pop_front().unwrap();
                    let next = queues[channel].front().map(|&(t, _)| SimTime::from_micros(t));
                    proptest::prop_assert_eq!(links.deliver_head(channel), (expected, next));
                }
                let waiting: Vec<_> = links.in_flight(channel).map(|(t, m)| (t.as_micros(), m)).collect();
                let expected: Vec<_> = queues[channel].iter().copied().collect();
                proptest::prop_assert_eq!(waiting, expected);
            }
        }
    }

    #[test]
    fn unordered_slots_are_reused() {
        let mut slots = UnorderedSlots::default();
        let a = slots.park("a");
        assert_eq!(slots.take(a), "a");
        let b = slots.park("b");
        assert_eq!(a, b);
    }
}
