#!/usr/bin/env python3
"""A bank of N accounts taking Chandy-Lamport snapshots, modelled in SimPy 4.1.2.

The SimPy counterpart of ``benches/bank-complete-64.json``, for ``cargo bench --bench bank``.

The system
  * N processes (default 64) on a complete directed graph: one reliable FIFO channel from every
    process to every other one.
  * Every process starts with a balance of 1000. It waits an exponential think time (mean 1 ms)
    and then, if its balance is positive, sends randint(1, min(10, balance)) tokens to a uniformly
    chosen other process; then it thinks again.
  * Every message (application message or marker) takes an exponential latency (mean 5 ms), but a
    channel never delivers a message before the ones sent on it earlier (FIFO).
  * Process 0 starts a snapshot after every S-th application send (S = 1000 by default), following
    Chandy & Lamport (1985); several snapshots may be in flight at once, kept apart by their id.
    When a snapshot is complete (every process recorded, every channel closed by its marker), its
    recorded balances plus the tokens recorded in channels must add up to N * 1000.
  * The run stops once M application messages (default 10^6) have been delivered.

What is counted as an event: application sends, deliveries of application messages and of
markers, and snapshot initiations, up to the stop; the things a discrete-event simulator schedules
and handles. Marker sends happen inside a delivery or an initiation and are not counted; neither
are think times that end with an empty balance.

Virtual time is in milliseconds. The output is one JSON line on stdout; the exit status is 1 when a
snapshot failed the conservation check.

    python bank.py [--processes N] [--messages M] [--snapshot-every S] [--seed SEED]
"""

import argparse
import json
import math
import random
import resource
import sys
import time

import simpy

INITIAL_BALANCE = 1000
AMOUNT_MAX = 10
THINK_MEAN_MS = 1.0
LATENCY_MEAN_MS = 5.0

# What a channel carries: (kind, sender, receiver, payload). The payload is the number of tokens
# of an application message, or the snapshot id of a marker.
TRANSFER, MARKER = 0, 1


class Snapshot:
    """One global snapshot, assembled while its markers travel."""

    __slots__ = ("sid", "balances", "channel_tokens", "to_record", "open_channels")

    def __init__(self, sid, processes):
        self.sid = sid
        self.balances = []  # the balance each process recorded
        self.channel_tokens = []  # tokens of the messages recorded as in flight, any channel
        self.to_record = processes  # processes that have not recorded their state yet
        self.open_channels = processes * (processes - 1)  # channels whose marker is still due

    def complete(self):
        return self.to_record == 0 and self.open_channels == 0

    def total(self):
        return sum(self.balances) + sum(self.channel_tokens)


class BankModel:
    """The processes, channels and snapshots of one run, driven by a SimPy environment."""

    def __init__(self, env, processes, messages, snapshot_every, seed):
        self.env = env
        self.n = processes
        self.stop_after = messages
        self.snapshot_every = snapshot_every
        self.rng = random.Random(seed)

        self.balance = [INITIAL_BALANCE] * processes
        self.neighbours = [[q for q in range(processes) if q != p] for p in range(processes)]
        # When the last message put on channel p->q (index p * n + q) will be delivered: a new
        # message on that channel is never delivered before it.
        self.channel_free_at = [0.0] * (processes * processes)

        # listening[q] maps a snapshot id to the set of senders p whose channel p->q process q
        # still records for that snapshot (q has recorded its state, the marker on p->q is due).
        self.listening = [{} for _ in range(processes)]
        self.in_flight = {}  # snapshot id -> Snapshot, until it completes
        self.next_sid = 1

        # Counters.
        self.sends = 0
        self.deliveries = 0
        self.marker_deliveries = 0
        self.initiations = 0
        self.completed = 0
        self.failures = []  # (snapshot id, recorded total) of snapshots that did not conserve
        self.stopped = False
        self.finished = env.event()  # triggered at the M-th application delivery

        for p in range(processes):
            env.process(self.account(p))

    # -- channels ---------------------------------------------------------------------------

    def send(self, p, q, kind, payload):
        """Put a message on channel p->q; it arrives after its latency, in FIFO order."""
        env = self.env
        now = env.now
        channel = p * self.n + q
        free_at = self.channel_free_at[channel]
        delay = self.rng.expovariate(1.0 / LATENCY_MEAN_MS)
        if now + delay < free_at:
            # Wait for the message ahead of it. SimPy computes the arrival as now + delay, so make
            # sure the floating-point sum does not land just before free_at. On a tie SimPy keeps
            # scheduling order, which is send order: FIFO still holds.
            delay = free_at - now
            while now + delay < free_at:
                delay = math.nextafter(delay, math.inf)
        self.channel_free_at[channel] = now + delay
        arrival = env.timeout(delay, (kind, p, q, payload))
        arrival.callbacks.append(self.arrive)

    def arrive(self, event):
        """A message reaches its receiver (a callback of the message's timeout)."""
        if self.stopped:
            return
        kind, p, q, payload = event.value
        if kind == MARKER:
            self.marker_deliveries += 1
            self.on_marker(q, p, payload)
            return
        self.balance[q] += payload
        # A message received on a channel that q is recording belongs to that channel's state.
        for sid, senders in self.listening[q].items():
            if p in senders:
                self.in_flight[sid].channel_tokens.append(payload)
        self.deliveries += 1
        if self.deliveries >= self.stop_after:
            self.stopped = True
            self.finished.succeed()

    # -- Chandy-Lamport ---------------------------------------------------------------------

    def initiate(self):
        """Process 0 starts a new snapshot by recording its state spontaneously."""
        sid = self.next_sid
        self.next_sid += 1
        self.in_flight[sid] = Snapshot(sid, self.n)
        self.initiations += 1
        self.record(0, sid, marker_from=None)

    def record(self, p, sid, marker_from):
        """Process p records its state for snapshot sid, then sends a marker on every channel.

        marker_from is the sender whose marker made p record; that channel's state is empty.
        """
        snapshot = self.in_flight[sid]
        snapshot.balances.append(self.balance[p])
        snapshot.to_record -= 1
        senders = set(self.neighbours[p])  # on a complete graph, p's senders are its neighbours
        if marker_from is not None:
            senders.discard(marker_from)
            snapshot.open_channels -= 1
        if senders:
            self.listening[p][sid] = senders
        # The marker-sending rule: a marker on every outgoing channel before any other message.
        for q in self.neighbours[p]:
            self.send(p, q, MARKER, sid)
        self.finish_if_complete(snapshot)

    def on_marker(self, q, p, sid):
        """The marker of snapshot sid reaches q on channel p->q."""
        senders = self.listening[q].get(sid)
        if senders is None:
            # q has not recorded for sid: it would otherwise still be listening on p->q.
            self.record(q, sid, marker_from=p)
            return
        senders.remove(p)  # the channel's state is complete
        if not senders:
            del self.listening[q][sid]
        snapshot = self.in_flight[sid]
        snapshot.open_channels -= 1
        self.finish_if_complete(snapshot)

    def finish_if_complete(self, snapshot):
        if not snapshot.complete():
            return
        del self.in_flight[snapshot.sid]
        self.completed += 1
        total = snapshot.total()
        if total != self.n * INITIAL_BALANCE:
            self.failures.append((snapshot.sid, total))

    # -- the application --------------------------------------------------------------------

    def account(self, p):
        """The SimPy process of account p: think, send, repeat."""
        env, rng = self.env, self.rng
        balance, neighbours = self.balance, self.neighbours[p]
        think_rate = 1.0 / THINK_MEAN_MS
        while True:
            yield env.timeout(rng.expovariate(think_rate))
            if self.stopped:
                return
            have = balance[p]
            if have <= 0:
                continue
            amount = rng.randint(1, min(AMOUNT_MAX, have))
            q = rng.choice(neighbours)
            balance[p] = have - amount
            self.send(p, q, TRANSFER, amount)
            self.sends += 1
            if self.sends % self.snapshot_every == 0:
                self.initiate()


def positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--processes", type=positive, default=64, help="N, at least 2 (64)")
    parser.add_argument("--messages", type=positive, default=1_000_000,
                        help="stop after M application messages delivered (1000000)")
    parser.add_argument("--snapshot-every", type=positive, default=1000,
                        help="a snapshot from process 0 every S application sends (1000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of random.Random (1)")
    args = parser.parse_args(argv)
    if args.processes < 2:
        parser.error("--processes must be at least 2")

    # Time the simulation only: building the model and running it, not starting Python.
    started = time.perf_counter()
    env = simpy.Environment()
    model = BankModel(env, args.processes, args.messages, args.snapshot_every, args.seed)
    env.run(until=model.finished)
    wall_s = time.perf_counter() - started

    events = model.sends + model.deliveries + model.marker_deliveries + model.initiations
    print(json.dumps({
        "messages": model.deliveries,
        "events": events,
        "snapshots_completed": model.completed,
        "conservation_failures": len(model.failures),
        "wall_s": round(wall_s, 6),
        "events_per_s": round(events / wall_s),
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,  # KiB on Linux
        # How the events break down, and the context of the run.
        "application_sends": model.sends,
        "marker_deliveries": model.marker_deliveries,
        "snapshots_initiated": model.initiations,
        "virtual_ms": round(env.now, 3),
        "processes": args.processes,
        "snapshot_every": args.snapshot_every,
        "seed": args.seed,
        "simpy": simpy.__version__,
        "python": sys.version.split()[0],
    }))
    if model.failures:
        print(f"conservation failed in {len(model.failures)} snapshot(s); first: "
              f"{model.failures[:5]} (expected {args.processes * INITIAL_BALANCE})",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
