//! Exhaustive exploration: every interleaving of a small system, checked (`snapsim explore`).
//!
//! A simulation shows one schedule per seed; exploration covers all of them. Time disappears:
//! a state has a set of enabled actions (a process sends, a channel delivers, the initiator
//! starts the snapshot), and the explorer follows every one of them from every reachable state,
//! breadth first — so the first violation found is at the smallest depth, and the schedule that
//! leads to it is a shortest counterexample. The protocol in the states is the simulator's own:
//! [`process_graph`] drives the same marker state machines ([`crate::chandy_lamport::process`])
//! that the engine runs, with no second implementation of the rules.
//!
//! Distinct states are counted by a canonical byte encoding of each state
//! ([`TransitionSystem::encode`]), from the initial state inclusive. The search stops at
//! `max_states` distinct states or below `max_depth` and then says it was *bounded*: a bounded
//! search proves nothing about the states it did not reach.
//!
//! Two reductions shrink the search without changing its verdict: symmetry (a system's
//! [`TransitionSystem::encode`] may give alike states one encoding) and partial-order reduction
//! ([`Reductions::partial_order`], with [`TransitionSystem::persistent_action`]).

pub mod dataflow;
pub mod process_graph;

use std::fmt::Debug;

/// A system to explore: states, the actions enabled in each, and what each action leads to.
pub trait TransitionSystem {
    /// A global state.
    type State: Clone;
    /// One step.
    type Action: Copy + Debug;

    /// The state the system starts in.
    fn initial(&self) -> Self::State;
    /// The actions enabled in `state`, appended to `actions`.
    fn actions(&self, state: &Self::State, actions: &mut Vec<Self::Action>);
    /// The state after `action` in `state`.
    fn apply(&self, state: &Self::State, action: Self::Action) -> Self::State;
    /// The state after `action` in `state`, written over `into` (reusing its allocations: most
    /// successors are states already known, dropped at once).
    fn apply_into(&self, state: &Self::State, action: Self::Action, into: &mut Self::State) {
        *into = self.apply(state, action);
    }
    /// Appends a canonical encoding of `state` to `key`: equal for equal states, different for
    /// different ones.
    fn encode(&self, state: &Self::State, key: &mut Vec<u8>);
    /// What is wrong with `state`, if anything (checked once per distinct state).
    fn violation(&self, state: &Self::State) -> Option<String>;
    /// For partial-order reduction: one of the `enabled` actions that is, on its own, a
    /// *persistent set* in `state` — on every path from `state` that does not take it, every
    /// action taken is independent of it (the two commute, and neither disables the other) —
    /// or `None` to expand every enabled action. A system must also keep its invariant stable
    /// along such paths: the reduced search reaches, for every schedule of the full system, an
    /// extension of it up to reordering of independent actions (Godefroid 1996, ch. 4), so a
    /// violation that later actions could undo might be missed.
    fn persistent_action(
        &self,
        _state: &Self::State,
        _enabled: &[Self::Action],
    ) -> Option<Self::Action> {
        None
    }
}

/// Which reductions a search applies (state-space reductions that keep its verdict).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reductions {
    /// Partial-order reduction: in a state where the system names an action that is a
    /// persistent set on its own ([`TransitionSystem::persistent_action`]), follow only that
    /// action — unless it leads to a state already expanded, in which case every action is
    /// followed (the cycle proviso: otherwise an action could be postponed forever around a
    /// cycle). A violation is still found, but its schedule is no longer necessarily shortest.
    pub partial_order: bool,
}

/// Where a search stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Distinct states at most.
    pub max_states: u64,
    /// Actions from the initial state at most (states deeper are not expanded).
    pub max_depth: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_states: 10_000_000,
            max_depth: u32::MAX,
        }
    }
}

/// What a search counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Distinct states found, the initial one included.
    pub distinct_states: u64,
    /// States whose actions were followed.
    pub states_explored: u64,
    /// Actions followed (each an edge of the state graph, to a new state or a known one).
    pub transitions: u64,
    /// The largest depth reached (actions from the initial state).
    pub max_depth: u32,
    /// Bytes of the canonical encodings kept to recognise known states.
    pub key_bytes: u64,
    /// With partial-order reduction: states expanded by their one persistent action only.
    pub reduced_states: u64,
}

/// How a search ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every reachable state was found and checked; none violates an invariant.
    Complete,
    /// A limit stopped the search: the states it did not reach were not checked.
    Bounded {
        /// Which limit, in words.
        reason: String,
    },
    /// A reachable state violates an invariant.
    Violated {
        /// What is wrong.
        violation: String,
    },
}

/// The result of a search.
#[derive(Clone, Debug)]
pub struct Exploration<A> {
    /// The counts.
    pub counts: Counts,
    /// How it ended.
    pub verdict: Verdict,
    /// For a violation: the actions from the initial state to the violating state (a shortest
    /// such schedule, since the search is breadth first).
    pub counterexample: Vec<A>,
}

/// Explores `system` breadth first within `limits`; `progress` is told the counts after every
/// level (and every 65 536 new states) and returns `false` to stop early (Ctrl-C).
pub fn explore<S: TransitionSystem>(
    system: &S,
    limits: Limits,
    progress: &mut dyn FnMut(&Counts) -> bool,
) -> Exploration<S::Action> {
    explore_reduced(system, limits, Reductions::default(), progress)
}

/// [`explore`] with `reductions` applied.
pub fn explore_reduced<S: TransitionSystem>(
    system: &S,
    limits: Limits,
    reductions: Reductions,
    progress: &mut dyn FnMut(&Counts) -> bool,
) -> Exploration<S::Action> {
    let mut counts = Counts::default();
    // Every distinct state: its encoding → its number; and per number, the state it was
    // reached from and by which action (for the counterexample).
    // A fast non-cryptographic hash: the table is only looked up, never iterated, so its order
    // cannot reach any output.
    let mut known: rustc_hash::FxHashMap<Box<[u8]>, u32> = rustc_hash::FxHashMap::default();
    let mut parents: Vec<(u32, Option<S::Action>)> = Vec::new();
    let mut key = Vec::new();
    let initial = system.initial();
    system.encode(&initial, &mut key);
    counts.key_bytes += key.len() as u64;
    known.insert(key.clone().into_boxed_slice(), 0);
    parents.push((0, None));
    counts.distinct_states = 1;
    let path_to = |parents: &[(u32, Option<S::Action>)], mut index: u32| {
        let mut path = Vec::new();
        while let (parent, Some(action)) = parents[index as usize] {
            path.push(action);
            index = parent;
        }
        path.reverse();
        path
    };
    if let Some(violation) = system.violation(&initial) {
        return Exploration {
            counts,
            verdict: Verdict::Violated { violation },
            counterexample: Vec::new(),
        };
    }
    let mut frontier: Vec<(u32, S::State)> = vec![(0, initial)];
    let mut actions = Vec::new();
    let mut successor = frontier[0].1.clone();
    let mut depth = 0;
    while !frontier.is_empty() {
        if depth >= limits.max_depth {
            return Exploration {
                counts,
                verdict: Verdict::Bounded {
                    reason: format!(
                        "--max-depth {}: {} state(s) at that depth were not expanded",
                        limits.max_depth,
                        frontier.len()
                    ),
                },
                counterexample: Vec::new(),
            };
        }
        let mut next = Vec::new();
        for (index, state) in &frontier {
            counts.states_explored += 1;
            actions.clear();
            system.actions(state, &mut actions);
            // The persistent action's successor, when it is followed alone, is already in
            // `successor` and its encoding in `key`.
            let mut computed = false;
            if reductions.partial_order
                && let Some(action) = system.persistent_action(state, &actions)
            {
                // The cycle proviso: follow the persistent action alone only when it leads to a
                // state not expanded yet (new, or found after this one: states are expanded in
                // the order they are numbered). On any cycle of the reduced graph, the state on
                // it expanded last finds its successor on the cycle expanded already, so it is
                // expanded in full — no action is postponed around a cycle forever.
                system.apply_into(state, action, &mut successor);
                key.clear();
                system.encode(&successor, &mut key);
                if known
                    .get(key.as_slice())
                    .is_none_or(|&number| number > *index)
                {
                    actions.clear();
                    actions.push(action);
                    counts.reduced_states += 1;
                    computed = true;
                }
            }
            for &action in &actions {
                counts.transitions += 1;
                if !std::mem::take(&mut computed) {
                    system.apply_into(state, action, &mut successor);
                    key.clear();
                    system.encode(&successor, &mut key);
                }
                if known.contains_key(key.as_slice()) {
                    continue;
                }
                let number = counts.distinct_states as u32;
                counts.key_bytes += key.len() as u64;
                known.insert(key.clone().into_boxed_slice(), number);
                parents.push((*index, Some(action)));
                counts.distinct_states += 1;
                counts.max_depth = depth + 1;
                if let Some(violation) = system.violation(&successor) {
                    return Exploration {
                        counts,
                        verdict: Verdict::Violated { violation },
                        counterexample: path_to(&parents, number),
                    };
                }
                if counts.distinct_states >= limits.max_states {
                    return Exploration {
                        counts,
                        verdict: Verdict::Bounded {
                            reason: format!(
                                "--max-states {}: the search stopped there, at depth {}",
                                limits.max_states,
                                depth + 1
                            ),
                        },
                        counterexample: Vec::new(),
                    };
                }
                if counts.distinct_states.is_multiple_of(65_536) && !progress(&counts) {
                    return interrupted(counts);
                }
                next.push((number, successor.clone()));
            }
        }
        frontier = next;
        depth += 1;
        if !progress(&counts) {
            return interrupted(counts);
        }
    }
    Exploration {
        counts,
        verdict: Verdict::Complete,
        counterexample: Vec::new(),
    }
}

fn interrupted<A>(counts: Counts) -> Exploration<A> {
    Exploration {
        counts,
        verdict: Verdict::Bounded {
            reason: "interrupted".into(),
        },
        counterexample: Vec::new(),
    }
}
