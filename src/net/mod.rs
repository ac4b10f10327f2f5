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
use std::collections::VecDeque;

/// A message on its way, with the time it will arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InFlight<M> {
    /// When the message reaches the receiver.
    pub arrival: SimTime,
    /// The message itself.
    pub message: M,
}

/// The in-flight contents of one FIFO channel.
#[derive(Clone, Debug)]
pub struct FifoLink<M> {
    queue: VecDeque<InFlight<M>>,
    last_arrival: SimTime,
}

impl<M> Default for FifoLink<M> {
    fn default() -> Self {
        FifoLink {
            queue: VecDeque::new(),
            last_arrival: SimTime::ZERO,
        }
    }
}

impl<M: Copy> FifoLink<M> {
    /// Puts a message on the channel at `now` with the drawn `latency_us`. Returns the arrival
    /// time if this message is now the head (the caller must schedule its arrival), else `None`.
    #[inline]
    pub fn send(&mut self, now: SimTime, latency_us: u64, message: M) -> Option<SimTime> {
        let arrival = now.after_us(latency_us).max(self.last_arrival);
        self.last_arrival = arrival;
        self.queue.push_back(InFlight { arrival, message });
        (self.queue.len() == 1).then_some(arrival)
    }

    /// Takes the head message off the channel (it has arrived). Returns it and, if another message
    /// is behind it, that one's arrival time, which the caller must schedule.
    #[inline]
    pub fn deliver_head(&mut self) -> (M, Option<SimTime>) {
        let head = self
            .queue
            .pop_front()
            .expect("an arrival event exists only for a non-empty channel");
        (head.message, self.queue.front().map(|next| next.arrival))
    }

    /// Messages currently in flight, oldest first.
    pub fn in_flight(&self) -> impl Iterator<Item = &InFlight<M>> {
        self.queue.iter()
    }

    /// Number of messages in flight.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True when nothing is in flight.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
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
        let mut link = FifoLink::default();
        // A slow message at t=0 (arrives at 100) and a fast one at t=10 (would arrive at 15).
        assert_eq!(
            link.send(SimTime::ZERO, 100, 'a'),
            Some(SimTime::from_micros(100))
        );
        assert_eq!(link.send(SimTime::from_micros(10), 5, 'b'), None);
        let (first, next) = link.deliver_head();
        assert_eq!((first, next), ('a', Some(SimTime::from_micros(100))));
        let (second, next) = link.deliver_head();
        assert_eq!((second, next), ('b', None));
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
