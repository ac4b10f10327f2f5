//! Keyed state that a snapshot can copy without copying it.
//!
//! A keyed aggregation or a sink keeps totals per key, and every checkpoint copies them: a job with
//! thousands of keys and thousands of checkpoints would spend most of its time copying maps (and
//! freeing the copies) if the state were a plain `BTreeMap`. [`KeyedState`] is a map from key to
//! [`KeyTotals`] with the same answers in the same (key) order, stored so that a copy is cheap:
//!
//! - keys are grouped in **pages** of [`KEYS_PER_PAGE`] consecutive keys (page `n` holds keys
//!   `n·256 ..= n·256 + 255`); a page lists only the keys present, in key order, with a bit mask
//!   saying which ones are there — so finding a key is a binary search over pages, then counting
//!   bits, never a walk through a tree;
//! - a page's entries live behind an [`Arc`]: cloning the state (taking a snapshot) copies the list
//!   of pages and shares every page's entries with the copy. The first write to a shared page
//!   afterwards copies that page alone (copy-on-write, [`Arc::make_mut`]). A snapshot therefore
//!   costs the pages that change before the next one, not the whole state, and the snapshots a run
//!   keeps share their unchanged pages.
//!
//! Keys are never removed: state only grows, as a running sum does.

use serde::{Serialize, Serializer};
use std::fmt;
use std::sync::Arc;

/// Per-key totals kept by keyed aggregations and sinks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KeyTotals {
    /// Sum of values.
    pub sum: i64,
    /// Number of records.
    pub count: u64,
}

/// Consecutive keys per page. 256 keeps pages few for dense keys (2000 keys: 8 pages) and still
/// small when keys are spread over many subtasks (a page lists only the keys present).
pub const KEYS_PER_PAGE: u32 = 256;
const WORDS_PER_PAGE: usize = (KEYS_PER_PAGE / 64) as usize;

/// One page: the present keys among `number·256 ..= number·256 + 255` and their totals.
#[derive(Clone)]
struct Page {
    /// Which range of keys this page holds (`key / KEYS_PER_PAGE`).
    number: u32,
    /// Bit `i` (word `i / 64`, bit `i % 64`) is set when key `number·256 + i` is present.
    present: [u64; WORDS_PER_PAGE],
    /// The present keys with their totals, in key order. Shared with every copy of the state
    /// (snapshot) taken since this page was last written.
    /// A `Vec` rather than a slice so that a key joining a page it owns alone is inserted in
    /// place: rebuilding the list for every new key made merging two states quadratic in the
    /// keys of a page (44 % of a 400 ms-interval run of the sweep job, which merges the subtasks'
    /// states at every checkpoint).
    entries: Arc<Vec<(u32, KeyTotals)>>,
}

impl Page {
    fn empty(number: u32) -> Page {
        Page {
            number,
            present: [0; WORDS_PER_PAGE],
            entries: Arc::new(Vec::new()),
        }
    }

    /// Position of `slot` (the key's offset in the page) among the present keys, and whether the
    /// key itself is present.
    #[inline]
    fn rank(&self, slot: u32) -> (usize, bool) {
        let (word, bit) = ((slot / 64) as usize, slot % 64);
        let before: u32 = self.present[..word].iter().map(|w| w.count_ones()).sum();
        let below = self.present[word] & ((1u64 << bit) - 1);
        let present = self.present[word] & (1u64 << bit) != 0;
        ((before + below.count_ones()) as usize, present)
    }
}

/// Totals per key, in key order, cheap to clone (see the module documentation).
#[derive(Clone, Default)]
pub struct KeyedState {
    /// Pages that hold at least one key, by page number.
    pages: Vec<Page>,
    /// Number of keys present.
    len: usize,
}

impl KeyedState {
    /// An empty state.
    pub fn new() -> KeyedState {
        KeyedState::default()
    }

    /// The state of keys given in strictly increasing order, built page by page without a
    /// search per key.
    /// Panics if the keys are not strictly increasing.
    pub fn from_ascending(entries: impl IntoIterator<Item = (u32, KeyTotals)>) -> KeyedState {
        let mut pages: Vec<Page> = Vec::new();
        let mut current: Vec<(u32, KeyTotals)> = Vec::new();
        let mut present = [0u64; WORDS_PER_PAGE];
        let mut number = None;
        let mut len = 0;
        let mut previous: Option<u32> = None;
        for (key, totals) in entries {
            assert!(
                previous.is_none_or(|p| p < key),
                "keys must be strictly increasing"
            );
            previous = Some(key);
            let page = key / KEYS_PER_PAGE;
            if number != Some(page) {
                if let Some(done) = number {
                    pages.push(Page {
                        number: done,
                        present,
                        entries: Arc::new(std::mem::take(&mut current)),
                    });
                }
                number = Some(page);
                present = [0; WORDS_PER_PAGE];
            }
            let slot = key % KEYS_PER_PAGE;
            present[(slot / 64) as usize] |= 1u64 << (slot % 64);
            current.push((key, totals));
            len += 1;
        }
        if let Some(done) = number {
            pages.push(Page {
                number: done,
                present,
                entries: Arc::new(current),
            });
        }
        KeyedState { pages, len }
    }

    /// Number of keys present.
    pub fn len(&self) -> usize {
        self.len
    }

    /// No key present.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn page_index(&self, number: u32) -> Result<usize, usize> {
        self.pages.binary_search_by_key(&number, |p| p.number)
    }

    /// The totals of `key`, if present.
    #[inline]
    pub fn get(&self, key: &u32) -> Option<&KeyTotals> {
        let page = &self.pages[self.page_index(key / KEYS_PER_PAGE).ok()?];
        match page.rank(key % KEYS_PER_PAGE) {
            (rank, true) => Some(&page.entries[rank].1),
            (_, false) => None,
        }
    }

    /// The totals of `key` for updating, inserted as zero if absent (like
    /// `BTreeMap::entry(key).or_default()`). Copies the key's page first if a snapshot shares it.
    #[inline]
    pub fn totals_mut(&mut self, key: u32) -> &mut KeyTotals {
        let number = key / KEYS_PER_PAGE;
        let index = match self.page_index(number) {
            Ok(index) => index,
            Err(index) => {
                self.pages.insert(index, Page::empty(number));
                index
            }
        };
        let page = &mut self.pages[index];
        let slot = key % KEYS_PER_PAGE;
        let (rank, present) = page.rank(slot);
        if !present {
            // A new key in its place (copying the list first if a snapshot shares it).
            Arc::make_mut(&mut page.entries).insert(rank, (key, KeyTotals::default()));
            page.present[(slot / 64) as usize] |= 1u64 << (slot % 64);
            self.len += 1;
        }
        &mut Arc::make_mut(&mut page.entries)[rank].1
    }

    /// The key-by-key sum of two states: every key of either, with the totals added where both
    /// hold it (merging the subtasks of one operator). Built page by page: a page only one side
    /// holds is shared, not copied, and two pages are merged in one pass over their sorted keys —
    /// the oracle merges the subtasks' states at every checkpoint, thousands of times a run.
    pub fn summed_with(&self, other: &KeyedState) -> KeyedState {
        let mut pages = Vec::with_capacity(self.pages.len().max(other.pages.len()));
        let (mut mine, mut theirs) = (self.pages.iter().peekable(), other.pages.iter().peekable());
        loop {
            let page = match (mine.peek(), theirs.peek()) {
                (None, None) => break,
                (Some(a), Some(b)) if a.number == b.number => {
                    let page = merge_pages(a, b);
                    mine.next();
                    theirs.next();
                    page
                }
                (Some(a), Some(b)) if a.number < b.number => mine.next().expect("peeked").clone(),
                (Some(_), None) => mine.next().expect("peeked").clone(),
                (_, Some(_)) => theirs.next().expect("peeked").clone(),
            };
            pages.push(page);
        }
        let len = pages.iter().map(|page| page.entries.len()).sum();
        KeyedState { pages, len }
    }

    /// Every key and its totals, in key order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            pages: self.pages.iter(),
            entries: [].iter(),
        }
    }

    /// Every present key, in order.
    pub fn keys(&self) -> impl Iterator<Item = &u32> {
        self.iter().map(|(key, _)| key)
    }

    /// Every key's totals, in key order.
    pub fn values(&self) -> impl Iterator<Item = &KeyTotals> {
        self.iter().map(|(_, totals)| totals)
    }
}

/// Two pages of the same keys merged: their keys in order, totals added where both hold one.
fn merge_pages(a: &Page, b: &Page) -> Page {
    let (left, right) = (&a.entries[..], &b.entries[..]);
    let mut entries = Vec::with_capacity(left.len() + right.len());
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        let ((l, x), (r, y)) = (left[i], right[j]);
        if l == r {
            let totals = KeyTotals {
                sum: x.sum + y.sum,
                count: x.count + y.count,
            };
            entries.push((l, totals));
            i += 1;
            j += 1;
        } else if l < r {
            entries.push(left[i]);
            i += 1;
        } else {
            entries.push(right[j]);
            j += 1;
        }
    }
    entries.extend_from_slice(&left[i..]);
    entries.extend_from_slice(&right[j..]);
    let mut present = a.present;
    for (word, theirs) in present.iter_mut().zip(b.present) {
        *word |= theirs;
    }
    Page {
        number: a.number,
        present,
        entries: Arc::new(entries),
    }
}

/// Iterator over a [`KeyedState`] in key order: `(&key, &totals)`, like a `BTreeMap`'s.
pub struct Iter<'a> {
    pages: std::slice::Iter<'a, Page>,
    entries: std::slice::Iter<'a, (u32, KeyTotals)>,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a u32, &'a KeyTotals);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((key, totals)) = self.entries.next() {
                return Some((key, totals));
            }
            self.entries = self.pages.next()?.entries.iter();
        }
    }
}

impl<'a> IntoIterator for &'a KeyedState {
    type Item = (&'a u32, &'a KeyTotals);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl FromIterator<(u32, KeyTotals)> for KeyedState {
    /// Later totals for the same key replace earlier ones, as in a map.
    fn from_iter<I: IntoIterator<Item = (u32, KeyTotals)>>(iter: I) -> KeyedState {
        let mut state = KeyedState::new();
        for (key, totals) in iter {
            *state.totals_mut(key) = totals;
        }
        state
    }
}

/// Every key of either state in key order, with its totals in each (zero where it is absent):
/// the two states walked side by side, for merging states and for comparing them.
pub fn side_by_side<'a>(
    left: &'a KeyedState,
    right: &'a KeyedState,
) -> impl Iterator<Item = (u32, KeyTotals, KeyTotals)> + 'a {
    let mut left = left.iter().peekable();
    let mut right = right.iter().peekable();
    std::iter::from_fn(move || {
        let zero = KeyTotals::default();
        Some(match (left.peek(), right.peek()) {
            (None, None) => return None,
            (Some(&(&l, &a)), Some(&(&r, &b))) if l == r => {
                left.next();
                right.next();
                (l, a, b)
            }
            (Some(&(&l, &a)), Some(&(&r, _))) if l < r => {
                left.next();
                (l, a, zero)
            }
            (Some(&(&l, &a)), None) => {
                left.next();
                (l, a, zero)
            }
            (_, Some(&(&r, &b))) => {
                right.next();
                (r, zero, b)
            }
        })
    })
}

/// Equal when the same keys have the same totals (however the pages are shared).
impl PartialEq for KeyedState {
    fn eq(&self, other: &KeyedState) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl Eq for KeyedState {}

/// Printed as a map, like a `BTreeMap`.
impl fmt::Debug for KeyedState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Serialized as a map from key to totals, in key order, exactly as a `BTreeMap` would be.
impl Serialize for KeyedState {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// A deterministic key sequence spread over many pages, with repeats.
    fn keys() -> impl Iterator<Item = u32> {
        let mut x = 12345u64;
        (0..5000).map(move |_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 33) % 3000) as u32 * 7 % 5003
        })
    }

    #[test]
    fn answers_like_a_btree_map() {
        let mut state = KeyedState::new();
        let mut map: BTreeMap<u32, KeyTotals> = BTreeMap::new();
        for (i, key) in keys().enumerate() {
            let totals = state.totals_mut(key);
            totals.sum += i as i64;
            totals.count += 1;
            let expected = map.entry(key).or_default();
            expected.sum += i as i64;
            expected.count += 1;
        }
        assert_eq!(state.len(), map.len());
        assert!(state.iter().eq(map.iter()));
        for key in 0..6000 {
            assert_eq!(state.get(&key), map.get(&key), "key {key}");
        }
        assert_eq!(
            serde_json::to_string(&state).unwrap(),
            serde_json::to_string(&map).unwrap()
        );
        assert_eq!(format!("{state:?}"), format!("{map:?}"));
    }

    #[test]
    fn a_clone_keeps_its_values_while_the_original_changes() {
        let mut state: KeyedState = (0..1000)
            .map(|k| (k, KeyTotals { sum: 1, count: 1 }))
            .collect();
        let snapshot = state.clone();
        state.totals_mut(5).count += 10;
        state.totals_mut(100_000).count += 1;
        assert_eq!(snapshot.get(&5).unwrap().count, 1);
        assert_eq!(snapshot.get(&100_000), None);
        assert_eq!(state.get(&5).unwrap().count, 11);
        assert_eq!(snapshot.len(), 1000);
        assert_eq!(state.len(), 1001);
        assert_ne!(state, snapshot);
        // Untouched pages are still shared.
        assert!(Arc::ptr_eq(
            &state.pages[3].entries,
            &snapshot.pages[3].entries
        ));
        assert!(!Arc::ptr_eq(
            &state.pages[0].entries,
            &snapshot.pages[0].entries
        ));
    }

    #[test]
    fn extreme_keys_work() {
        let mut state = KeyedState::new();
        state.totals_mut(u32::MAX).sum = 3;
        state.totals_mut(0).sum = 1;
        state.totals_mut(255).sum = 2;
        state.totals_mut(256).sum = 4;
        let keys: Vec<u32> = state.keys().copied().collect();
        assert_eq!(keys, vec![0, 255, 256, u32::MAX]);
        assert_eq!(state.get(&u32::MAX).unwrap().sum, 3);
        assert_eq!(state.get(&(u32::MAX - 1)), None);
    }

    /// Walked side by side, two states give every key of either with both totals (zero where
    /// absent) — whether they hold the same keys (the lockstep walk) or not.
    #[test]
    fn side_by_side_pairs_every_key_of_either_state() {
        let map = |keys: &[u32], base: i64| -> BTreeMap<u32, KeyTotals> {
            keys.iter()
                .map(|&k| {
                    (
                        k,
                        KeyTotals {
                            sum: base + k as i64,
                            count: 1,
                        },
                    )
                })
                .collect()
        };
        let state = |m: &BTreeMap<u32, KeyTotals>| -> KeyedState {
            m.iter().map(|(&k, &t)| (k, t)).collect()
        };
        let cases: [(&[u32], &[u32]); 4] = [
            (&[1, 5, 300, 900], &[1, 5, 300, 900]),
            (&[1, 5, 300], &[1, 6, 300, 2000]),
            (&[], &[7]),
            (&[1, 2, 3], &[1, 2, 4]),
        ];
        for (left_keys, right_keys) in cases {
            let (left, right) = (map(left_keys, 0), map(right_keys, 1000));
            let got: Vec<_> = side_by_side(&state(&left), &state(&right)).collect();
            let keys: std::collections::BTreeSet<u32> =
                left.keys().chain(right.keys()).copied().collect();
            let want: Vec<_> = keys
                .into_iter()
                .map(|k| {
                    let of = |m: &BTreeMap<u32, KeyTotals>| m.get(&k).copied().unwrap_or_default();
                    (k, of(&left), of(&right))
                })
                .collect();
            assert_eq!(got, want, "{left_keys:?} and {right_keys:?}");
        }
    }

    /// Built from keys in order, page by page, the state is the one built key by key — and
    /// merging two states (what the oracle does with a checkpoint's subtasks) adds their totals
    /// as a map would.
    #[test]
    fn a_state_built_in_key_order_and_a_merge_are_what_a_map_gives() {
        let mut left = BTreeMap::new();
        let mut right = BTreeMap::new();
        for (i, key) in keys().enumerate() {
            let side = if i % 3 == 0 { &mut left } else { &mut right };
            let totals: &mut KeyTotals = side.entry(key).or_default();
            totals.sum += i as i64;
            totals.count += 1;
        }
        let built = KeyedState::from_ascending(left.iter().map(|(&k, &t)| (k, t)));
        let one_by_one: KeyedState = left.iter().map(|(&k, &t)| (k, t)).collect();
        assert!(built == one_by_one);
        assert_eq!(built.len(), left.len());
        let mut merged = crate::workload::dataflow::OperatorState {
            offset: 1,
            keyed: built,
        };
        merged.merge(&crate::workload::dataflow::OperatorState {
            offset: 2,
            keyed: right.iter().map(|(&k, &t)| (k, t)).collect(),
        });
        let mut expected = left.clone();
        for (key, totals) in &right {
            let entry = expected.entry(*key).or_default();
            entry.sum += totals.sum;
            entry.count += totals.count;
        }
        let got: Vec<(u32, KeyTotals)> = merged.keyed.iter().map(|(&k, &t)| (k, t)).collect();
        let want: Vec<(u32, KeyTotals)> = expected.clone().into_iter().collect();
        assert_eq!(got, want);
        assert_eq!(merged.offset, 3);
        // Looked up one by one, too (the merged pages' presence bits), and counted.
        assert_eq!(merged.keyed.len(), expected.len());
        for key in 0..=expected.keys().max().copied().unwrap_or(0) + KEYS_PER_PAGE {
            assert_eq!(merged.keyed.get(&key), expected.get(&key), "key {key}");
        }
    }
}
