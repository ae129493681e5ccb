//! The request list's keys in memory (docs/adr/0005-request-list-keys-in-memory.md): for every
//! request, what the list filters and orders by, so that a page and its exact count are found
//! here and only the page's rows are read from the database, by id, through the caller's scope.
//!
//! - A [`Snapshot`] holds the keys of every request as they were when it was built, ordered
//!   by receipt, with the orders and groups the list reads (by deadline; by status, by
//!   category and by site, each in order of receipt and, for the groups, of id).
//! - With the keys, the words each request is found by (`request_words`, written beside the
//!   search index with the same words): per word the slots of the requests it finds
//!   ([`Postings`]), so a search's matches are counted here too. Read from `PostgreSQL`'s GIN,
//!   a common word's matches cost a fetch of every matching row (租房, 89,845 of a million:
//!   1.4 s), again after every change.
//! - Requests written since are in the overlay, their snapshot entries marked stale; past
//!   [`REBUILD_AT`] the snapshot is built again from both (in memory, no database read).
//! - Every write of a request leaves its id in `request_changes` (triggers, in the write's own
//!   transaction). Before it answers, a node reads what it has not seen there ([`Feed`]) and
//!   reloads those requests' keys, so a page never misses a write that committed before it was
//!   asked for, whichever node or command made it.
//!
//! A wrong or stale entry here can only hide a row or show it in the wrong place, never show
//! one out of scope: the rows are read through the scoped query.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard};
use std::time::Instant;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use shiliu_domain::requests::{Channel, Status};

use super::RequestFilter;
use super::listing::{Cursor, Sort, SortBy};
use crate::schema::{request_categories, request_changes, request_words, requests};
use crate::scope::Scope;
use crate::{DbConnection, DbError};

/// Past this many requests written since the snapshot, it is built again.
const REBUILD_AT: usize = 20_000;
/// Up to this many candidates, a page in an order other than receipt is picked from all of
/// them at once rather than walked along the order.
const SCAN_MAX: usize = 20_000;
/// A walk along an order may test one entry for every this many candidates before the page is
/// picked from the candidates instead (the filters' rows lie together in the order: a month by
/// deadline). A walk reads entries here and there, a pick reads the candidates in a row.
const WALK_PER_CANDIDATES: usize = 8;
/// How long the change feed keeps a change; a node that has not read it for half as long
/// loads every request's keys again rather than trust what it would read.
const FEED_KEPT: chrono::Duration = chrono::Duration::hours(24);
/// Keys are loaded this many requests at a time, by id: read whole, the rows held hundreds of
/// megabytes at a million (`PostgreSQL`'s client keeps a whole result), which the allocator kept.
const LOAD_PART: i64 = 20_000;
/// A table up to this size is loaded by the first list that needs it; a larger one in the
/// background, the database answering until it is done.
const LOAD_INLINE_MAX: i64 = 100_000;

/// One request's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    id: i64,
    /// Microseconds since the epoch.
    received: i64,
    /// Microseconds since the epoch; meaningful with [`HAS_DUE`].
    due: i64,
    /// The region's path, by its number in [`Names::paths`].
    path: u32,
    /// The category, by its number in [`Names::categories`].
    category: u32,
    /// The site, by its number in [`Names::sites`] plus one; 0: none.
    site: u32,
    /// The status's place in [`Status::ALL`] ([`UNKNOWN`]: none of them).
    status: u8,
    /// The channel's place in [`Channel::ALL`].
    channel: u8,
    flags: u8,
}

const HAS_DUE: u8 = 1;
const ESCALATED: u8 = 2;
const UNKNOWN: u8 = 15;

impl Entry {
    fn has_due(&self) -> bool {
        self.flags & HAS_DUE != 0
    }
}

/// Strings and ids kept once, numbered in the order first seen (they only grow).
#[derive(Default)]
struct Names<T: std::hash::Hash + Eq + Clone> {
    all: Vec<T>,
    number: HashMap<T, u32>,
}

impl<T: std::hash::Hash + Eq + Clone> Names<T> {
    fn intern(&mut self, v: &T) -> u32 {
        if let Some(n) = self.number.get(v) {
            return *n;
        }
        let n = u32::try_from(self.all.len()).unwrap_or(u32::MAX);
        self.all.push(v.clone());
        self.number.insert(v.clone(), n);
        n
    }
}

/// The words requests are found by, numbered in the order first seen. Most words of a million
/// requests are found in one each (its tracking code, names): each word's text is kept once,
/// end to end, and found by its hash (about 40 bytes a word; a `String` in a map and a list
/// took three times as much).
#[derive(Default)]
struct WordBook {
    text: String,
    /// Where each word ends in `text` (it begins where the one before ends).
    ends: Vec<u32>,
    hasher: std::hash::RandomState,
    /// The first word with each hash; a later word with the same hash is in `clashes`.
    by_hash: HashMap<u64, u32>,
    clashes: HashMap<Box<str>, u32>,
}

impl WordBook {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn word(&self, n: u32) -> &str {
        let n = n as usize;
        let start = if n == 0 { 0 } else { self.ends[n - 1] as usize };
        &self.text[start..self.ends[n] as usize]
    }

    fn number(&self, w: &str) -> Option<u32> {
        use std::hash::BuildHasher;
        match self.by_hash.get(&self.hasher.hash_one(w)) {
            Some(n) if self.word(*n) == w => Some(*n),
            Some(_) => self.clashes.get(w).copied(),
            None => None,
        }
    }

    fn intern(&mut self, w: &str) -> u32 {
        use std::hash::BuildHasher;
        if let Some(n) = self.number(w) {
            return n;
        }
        let n = slot(self.ends.len());
        self.text.push_str(w);
        self.ends
            .push(u32::try_from(self.text.len()).unwrap_or(u32::MAX));
        match self.by_hash.entry(self.hasher.hash_one(w)) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(n);
            }
            std::collections::hash_map::Entry::Occupied(_) => {
                self.clashes.insert(w.into(), n);
            }
        }
        n
    }
}

/// A request's keys as the database holds them.
type Row = (
    i64,
    NaiveDateTime,
    Option<NaiveDateTime>,
    String,
    i64,
    String,
    Option<i64>,
    String,
    Option<NaiveDateTime>,
);

fn micros(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

fn status_number(s: &str) -> u8 {
    Status::ALL
        .iter()
        .position(|x| x.as_str() == s)
        .and_then(|p| u8::try_from(p).ok())
        .unwrap_or(UNKNOWN)
}

fn channel_number(s: &str) -> u8 {
    Channel::ALL
        .iter()
        .position(|x| x.as_str() == s)
        .and_then(|p| u8::try_from(p).ok())
        .unwrap_or(UNKNOWN)
}

/// Every snapshot's orders and groups, by slot (an entry's place in receipt order).
struct Snapshot {
    entries: Vec<Entry>,
    slot_of: HashMap<i64, u32>,
    /// Written since: the overlay holds its keys now (or it is gone).
    stale: Vec<bool>,
    /// Slots with a deadline, by (deadline, id); those without, by id.
    by_due: Vec<u32>,
    no_due: Vec<u32>,
    /// Slots with a deadline and a running clock, by (deadline, id): deadlines soon and past;
    /// and their entries, in the same order, to read them in a row.
    running_due: Vec<u32>,
    running_due_entries: Vec<Entry>,
    /// Per status, per category (its number), per site (its number): slots in receipt order,
    /// and for status and category in id order (the groups' order within them).
    status_slots: Vec<Vec<u32>>,
    status_ids: Vec<Vec<u32>>,
    category_slots: Vec<Vec<u32>>,
    category_ids: Vec<Vec<u32>>,
    site_slots: HashMap<u32, Vec<u32>>,
    /// The words' lists (set by whoever builds the snapshot: they come from elsewhere).
    postings: Postings,
}

fn slot(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// For each word (its number in [`Index::words`]), the snapshot slots of the requests found
/// by it, in receipt order: the lists end to end.
#[derive(Default)]
struct Postings {
    /// Where each word's list begins in `slots`, and one past the last word's end.
    starts: Vec<usize>,
    slots: Vec<u32>,
}

impl Postings {
    fn list(&self, word: u32) -> &[u32] {
        let w = word as usize;
        match (self.starts.get(w), self.starts.get(w + 1)) {
            (Some(a), Some(b)) => &self.slots[*a..*b],
            _ => &[],
        }
    }

    /// From the words of the request at each slot (`words_at(slot)`), read in slot order so
    /// that every list comes out in it.
    fn build<'a>(words: usize, slots: usize, words_at: impl Fn(usize) -> &'a [u32]) -> Self {
        let mut starts = vec![0usize; words + 1];
        for s in 0..slots {
            for w in words_at(s) {
                starts[*w as usize + 1] += 1;
            }
        }
        for w in 0..words {
            starts[w + 1] += starts[w];
        }
        let mut next = starts.clone();
        let mut out = vec![0u32; starts[words]];
        for s in 0..slots {
            for w in words_at(s) {
                out[next[*w as usize]] = slot(s);
                next[*w as usize] += 1;
            }
        }
        Self { starts, slots: out }
    }

    /// These lists in a snapshot built again: each old slot moved to `moved[slot]` (gone:
    /// `u32::MAX`; the moves keep the order), and `added` (word, slot) pairs, sorted.
    fn moved(&self, moved: &[u32], added: &[(u32, u32)], words: usize) -> Self {
        let mut starts = Vec::with_capacity(words + 1);
        let mut out: Vec<u32> = Vec::with_capacity(self.slots.len() + added.len());
        let mut a = 0;
        for w in 0..words {
            starts.push(out.len());
            let k = added[a..].partition_point(|(word, _)| *word as usize == w);
            let adds = &added[a..a + k];
            a += k;
            // Both in slot order: merged.
            let mut olds = self
                .list(slot(w))
                .iter()
                .map(|s| moved[*s as usize])
                .filter(|s| *s != u32::MAX)
                .peekable();
            let mut j = 0;
            loop {
                match (olds.peek(), adds.get(j)) {
                    (Some(o), Some((_, x))) if o < x => out.extend(olds.next()),
                    (_, Some((_, x))) => {
                        out.push(*x);
                        j += 1;
                    }
                    (Some(_), None) => out.extend(olds.by_ref()),
                    (None, None) => break,
                }
            }
        }
        starts.push(out.len());
        Self { starts, slots: out }
    }
}

impl Snapshot {
    fn build(mut entries: Vec<Entry>, categories: usize) -> Self {
        entries.sort_unstable_by_key(|e| (e.received, e.id));
        let slot_of = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id, slot(i)))
            .collect();
        let mut by_due: Vec<u32> = Vec::new();
        let mut no_due: Vec<u32> = Vec::new();
        let mut status_slots = vec![Vec::new(); usize::from(UNKNOWN) + 1];
        let mut category_slots = vec![Vec::new(); categories];
        let mut site_slots: HashMap<u32, Vec<u32>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            let s = slot(i);
            if e.has_due() {
                by_due.push(s);
            } else {
                no_due.push(s);
            }
            status_slots[usize::from(e.status)].push(s);
            if let Some(c) = category_slots.get_mut(e.category as usize) {
                c.push(s);
            }
            if e.site != 0 {
                site_slots.entry(e.site).or_default().push(s);
            }
        }
        let due_key = |s: &u32| {
            let e = &entries[*s as usize];
            (e.due, e.id)
        };
        by_due.sort_unstable_by_key(due_key);
        no_due.sort_unstable_by_key(|s| entries[*s as usize].id);
        let running: Vec<bool> = Status::ALL.iter().map(|s| s.clock_runs()).collect();
        let running_due: Vec<u32> = by_due
            .iter()
            .copied()
            .filter(|s| {
                running
                    .get(usize::from(entries[*s as usize].status))
                    .copied()
                    .unwrap_or(false)
            })
            .collect();
        let running_due_entries = running_due.iter().map(|s| entries[*s as usize]).collect();
        let by_id = |lists: &[Vec<u32>]| -> Vec<Vec<u32>> {
            lists
                .iter()
                .map(|l| {
                    let mut l = l.clone();
                    l.sort_unstable_by_key(|s| entries[*s as usize].id);
                    l
                })
                .collect()
        };
        let status_ids = by_id(&status_slots);
        let category_ids = by_id(&category_slots);
        let stale = vec![false; entries.len()];
        Self {
            entries,
            slot_of,
            stale,
            by_due,
            no_due,
            running_due,
            running_due_entries,
            status_slots,
            status_ids,
            category_slots,
            category_ids,
            site_slots,
            postings: Postings::default(),
        }
    }

    fn live(&self, s: u32) -> Option<&Entry> {
        (!self.stale[s as usize]).then(|| &self.entries[s as usize])
    }
}

/// Everything one node knows of the requests' keys.
struct Index {
    paths: Names<String>,
    categories: Names<i64>,
    sites: Names<i64>,
    /// The words requests are found by (`request_words`).
    words: WordBook,
    snap: Snapshot,
    /// Requests written since the snapshot, as they are now (gone ones: absent, and stale).
    overlay: HashMap<i64, Entry>,
    /// Their words, by number, sorted.
    overlay_words: HashMap<i64, Box<[u32]>>,
    /// Moves on with every change applied: what was worked out from the keys before is old.
    generation: u64,
}

impl Index {
    fn empty() -> Self {
        Self {
            paths: Names::default(),
            categories: Names::default(),
            sites: Names::default(),
            words: WordBook::default(),
            snap: Snapshot::build(Vec::new(), 0),
            overlay: HashMap::new(),
            overlay_words: HashMap::new(),
            generation: 1,
        }
    }

    /// The snapshot of these entries, in id order, the words of the `i`-th being
    /// `words[word_starts[i]..word_starts[i + 1]]`.
    fn start_from(&mut self, entries: Vec<Entry>, words: &[u32], word_starts: &[usize]) {
        let loaded: Vec<i64> = entries.iter().map(|e| e.id).collect();
        self.snap = Snapshot::build(entries, self.categories.all.len());
        // The snapshot is in receipt order: where each slot's entry was loaded.
        let at: Vec<usize> = self
            .snap
            .entries
            .iter()
            .map(|e| loaded.binary_search(&e.id).unwrap_or(0))
            .collect();
        self.snap.postings = Postings::build(self.words.len(), at.len(), |s| {
            &words[word_starts[at[s]]..word_starts[at[s] + 1]]
        });
    }

    fn entry_of(&mut self, r: &Row) -> Entry {
        let (id, received, due, path, category, channel, site, status, escalated) = r;
        let mut flags = 0;
        if due.is_some() {
            flags |= HAS_DUE;
        }
        if escalated.is_some() {
            flags |= ESCALATED;
        }
        Entry {
            id: *id,
            received: micros(*received),
            due: due.map_or(0, micros),
            path: self.paths.intern(path),
            category: self.categories.intern(category),
            site: site.map_or(0, |s| self.sites.intern(&s) + 1),
            status: status_number(status),
            channel: channel_number(channel),
            flags,
        }
    }

    fn get(&self, id: i64) -> Option<&Entry> {
        if let Some(e) = self.overlay.get(&id) {
            return Some(e);
        }
        self.snap.slot_of.get(&id).and_then(|s| self.snap.live(*s))
    }

    /// A request's words (`request_words`' text) by number, sorted.
    fn word_numbers(&mut self, text: &str) -> Box<[u32]> {
        let mut w: Vec<u32> = text
            .split(' ')
            .filter(|t| !t.is_empty())
            .map(|t| self.words.intern(t))
            .collect();
        w.sort_unstable();
        w.dedup();
        w.into_boxed_slice()
    }

    /// The keys and words of these requests as read now (`rows`, `words`; an id without a
    /// row is gone).
    fn apply(&mut self, ids: &[i64], rows: &[Row], words: &HashMap<i64, String>) {
        let now: HashMap<i64, &Row> = rows.iter().map(|r| (r.0, r)).collect();
        for id in ids {
            if let Some(s) = self.snap.slot_of.get(id) {
                self.snap.stale[*s as usize] = true;
            }
            if let Some(r) = now.get(id) {
                let e = self.entry_of(r);
                self.overlay.insert(*id, e);
                let w = self.word_numbers(words.get(id).map_or("", String::as_str));
                self.overlay_words.insert(*id, w);
            } else {
                self.overlay.remove(id);
                self.overlay_words.remove(id);
            }
        }
        self.generation += 1;
        if self.overlay.len() > REBUILD_AT {
            self.rebuild();
        }
    }

    /// Build the snapshot again from its live entries and the overlay (in memory).
    fn rebuild(&mut self) {
        let mut all: Vec<Entry> = self
            .snap
            .entries
            .iter()
            .zip(&self.snap.stale)
            .filter(|(_, stale)| !**stale)
            .map(|(e, _)| *e)
            .collect();
        all.extend(self.overlay.drain().map(|(_, e)| e));
        let old = std::mem::replace(
            &mut self.snap,
            Snapshot::build(all, self.categories.all.len()),
        );
        let new_slot = |id: &i64| self.snap.slot_of.get(id).copied().unwrap_or(u32::MAX);
        let moved: Vec<u32> = old
            .entries
            .iter()
            .zip(&old.stale)
            .map(|(e, stale)| if *stale { u32::MAX } else { new_slot(&e.id) })
            .collect();
        let mut added: Vec<(u32, u32)> = self
            .overlay_words
            .iter()
            .flat_map(|(id, words)| {
                let s = new_slot(id);
                words.iter().map(move |w| (*w, s))
            })
            .filter(|(_, s)| *s != u32::MAX)
            .collect();
        added.sort_unstable();
        self.overlay_words.clear();
        self.snap.postings = old.postings.moved(&moved, &added, self.words.len());
    }
}

/// Where a node stands in the change feed.
#[derive(Default)]
struct Feed {
    /// Every change up to this number is applied.
    low: i64,
    /// Changes past `low` already applied (`PostgreSQL`: a number is given at insert, so a
    /// lower one can still appear, from a transaction that was running when this one read).
    seen: BTreeSet<i64>,
    /// (the first transaction id not yet begun, the highest change seen) at each read: once
    /// every transaction before the first has ended, every change up to the second is visible.
    pending: VecDeque<(i64, i64)>,
    /// When the last read of the feed began.
    read_at: Option<Instant>,
}

/// The request list's keys, one per node (held by [`crate::Db`]).
pub struct RequestKeys {
    index: RwLock<Option<Index>>,
    feed: Mutex<Feed>,
    loading: AtomicBool,
    /// Off: the list reads the database only (its tests compare both ways).
    enabled: bool,
    /// When to pick rather than walk ([`SCAN_MAX`], [`WALK_PER_CANDIDATES`]; the tests walk
    /// every time too).
    scan_max: usize,
    walk_per_candidates: usize,
    /// For a load in the background: connections, and this keys' own handle.
    pool: Option<r2d2::Pool<crate::Manager>>,
    me: std::sync::Weak<RequestKeys>,
    /// Caches that stay true while the index's generation does not move.
    counts: Mutex<HashMap<String, (u64, i64)>>,
    words: Mutex<HashMap<String, (u64, Arc<WordMatches>)>>,
    places: Mutex<HashMap<String, Places>>,
}

/// What a filter tests, and the matches of its words.
type Prepared = (Test, Option<Arc<WordMatches>>);

/// Which of the index's paths lie in some subtrees, as worked out when it knew this many.
type Places = (usize, Arc<Vec<bool>>);

/// The requests that match a search's words: snapshot slots with their entries (copied, to
/// read them in a row), and overlay ids.
struct WordMatches {
    slots: Vec<u32>,
    entries: Vec<Entry>,
    ids: Vec<i64>,
}

impl std::fmt::Debug for RequestKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestKeys")
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

impl RequestKeys {
    pub(crate) fn new(pool: Option<r2d2::Pool<crate::Manager>>) -> Arc<Self> {
        let enabled = pool.is_some();
        Self::tuned(pool, enabled, (SCAN_MAX, WALK_PER_CANDIDATES))
    }

    fn tuned(
        pool: Option<r2d2::Pool<crate::Manager>>,
        enabled: bool,
        (scan_max, walk_per_candidates): (usize, usize),
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            index: RwLock::new(None),
            feed: Mutex::new(Feed::default()),
            loading: AtomicBool::new(false),
            enabled,
            scan_max,
            walk_per_candidates,
            pool,
            me: me.clone(),
            counts: Mutex::new(HashMap::new()),
            words: Mutex::new(HashMap::new()),
            places: Mutex::new(HashMap::new()),
        })
    }

    /// Keys that are never loaded: the list reads the database.
    pub fn off() -> Arc<Self> {
        Self::new(None)
    }

    /// Keys that walk an order whenever they can, however few match and however far the walk
    /// goes (loaded by the first list, on its connection): for the tests, which list too few
    /// requests to make the keys walk otherwise.
    #[cfg(feature = "testing")]
    pub fn walking() -> Arc<Self> {
        Self::tuned(None, true, (0, 0))
    }

    /// Whether the keys are loaded (the list answers from them).
    pub fn is_loaded(&self) -> bool {
        self.index
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// Begin loading on a thread of its own (a server at start), unless it has begun.
    pub fn load_in_background(&self) {
        let (Some(pool), Some(me)) = (self.pool.clone(), self.me.upgrade()) else {
            return;
        };
        if me
            .index
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
        {
            return;
        }
        me.loading.store(true, Ordering::SeqCst);
        std::thread::spawn(move || {
            let loaded = pool
                .get()
                .map_err(DbError::from)
                .and_then(|mut c| me.load(&mut c));
            if let Err(e) = loaded {
                tracing::warn!(error = %e, "loading the request list's keys failed; the database answers");
                me.loading.store(false, Ordering::SeqCst);
            }
        });
    }

    /// Load every request's keys now, on this connection (a server at start, on a thread of
    /// its own; the first list of a small table).
    pub fn load(&self, conn: &mut DbConnection) -> Result<(), DbError> {
        let started = Instant::now();
        let feed = feed_start(conn)?;
        let mut index = Index::empty();
        // By id, a part at a time ([`LOAD_PART`]); each request's words by number, end to end.
        let mut entries: Vec<Entry> = Vec::new();
        let (mut words, mut word_starts): (Vec<u32>, Vec<usize>) = (Vec::new(), vec![0]);
        let mut last = i64::MIN;
        loop {
            let rows = key_rows(
                conn,
                requests::table
                    .filter(requests::id.gt(last))
                    .order(requests::id)
                    .limit(LOAD_PART)
                    .into_boxed(),
            )?;
            let full = rows.len() as i64 == LOAD_PART;
            let upto = rows.last().map(|r| r.0).filter(|_| full);
            let mut texts = word_rows(conn, last, upto)?.into_iter().peekable();
            for r in &rows {
                entries.push(index.entry_of(r));
                while texts.peek().is_some_and(|(id, _)| *id < r.0) {
                    texts.next();
                }
                if let Some((_, text)) = texts.next_if(|(id, _)| *id == r.0) {
                    words.extend(index.word_numbers(&text));
                }
                word_starts.push(words.len());
            }
            match upto {
                Some(u) => last = u,
                None => break,
            }
        }
        index.start_from(entries, &words, &word_starts);
        drop((words, word_starts));
        let n = index.snap.entries.len();
        *self.feed.lock().unwrap_or_else(PoisonError::into_inner) = feed;
        *self.index.write().unwrap_or_else(PoisonError::into_inner) = Some(index);
        tracing::info!(
            requests = n,
            ms = started.elapsed().as_millis(),
            "request list keys loaded"
        );
        Ok(())
    }

    /// The keys, up to date with every change committed before this call; none while they are
    /// not loaded (a large table loads in the background, the database answering meanwhile).
    fn ready<'a>(
        &'a self,
        conn: &mut DbConnection,
    ) -> Result<Option<RwLockReadGuard<'a, Option<Index>>>, DbError> {
        if !self.enabled {
            return Ok(None);
        }
        let loaded = self
            .index
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some();
        if !loaded {
            if self.loading.swap(true, Ordering::SeqCst) {
                return Ok(None);
            }
            let n: i64 = requests::table.count().get_result(conn)?;
            if n > LOAD_INLINE_MAX {
                self.load_in_background();
                return Ok(None);
            }
            if let Err(e) = self.load(conn) {
                self.loading.store(false, Ordering::SeqCst);
                return Err(e);
            }
        }
        self.catch_up(conn)?;
        Ok(Some(
            self.index.read().unwrap_or_else(PoisonError::into_inner),
        ))
    }

    /// Apply every change committed before this call. Calls that arrive while another reads the
    /// feed wait for it, and skip their own read when that one began after they arrived.
    fn catch_up(&self, conn: &mut DbConnection) -> Result<(), DbError> {
        let arrived = Instant::now();
        let mut feed = self.feed.lock().unwrap_or_else(PoisonError::into_inner);
        if feed.read_at.is_some_and(|t| t >= arrived) {
            return Ok(());
        }
        if feed
            .read_at
            .is_some_and(|t| t.elapsed() > (FEED_KEPT / 2).to_std().unwrap_or_default())
        {
            drop(feed);
            return self.load(conn);
        }
        feed.read_at = Some(Instant::now());
        let ids = feed.read(conn)?;
        if ids.is_empty() {
            return Ok(());
        }
        let mut rows = Vec::with_capacity(ids.len());
        let mut words = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(10_000) {
            let some = key_rows(
                conn,
                requests::table
                    .filter(requests::id.eq_any(chunk.to_vec()))
                    .into_boxed(),
            )?;
            rows.extend(some);
            words.extend(
                request_words::table
                    .filter(request_words::request_id.eq_any(chunk.to_vec()))
                    .select((request_words::request_id, request_words::words))
                    .load::<(i64, String)>(conn)?,
            );
        }
        let mut index = self.index.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(index) = index.as_mut() {
            index.apply(&ids, &rows, &words);
        }
        Ok(())
    }
}

/// The words of the requests with ids in (`after`, `upto`], by id.
fn word_rows(
    conn: &mut DbConnection,
    after: i64,
    upto: Option<i64>,
) -> Result<Vec<(i64, String)>, DbError> {
    let mut q = request_words::table
        .filter(request_words::request_id.gt(after))
        .select((request_words::request_id, request_words::words))
        .order(request_words::request_id)
        .into_boxed();
    if let Some(u) = upto {
        q = q.filter(request_words::request_id.le(u));
    }
    Ok(q.load(conn)?)
}

/// Clear the changes older than the feed keeps them ([`FEED_KEPT`]); how many.
pub fn clear_feed(conn: &mut DbConnection, now: NaiveDateTime) -> Result<usize, DbError> {
    Ok(diesel::delete(
        request_changes::table.filter(request_changes::changed_at.lt(now - FEED_KEPT)),
    )
    .execute(conn)?)
}

/// The keys of the requests `q` reads.
fn key_rows(
    conn: &mut DbConnection,
    q: requests::BoxedQuery<'static, crate::MultiBackend>,
) -> Result<Vec<Row>, DbError> {
    Ok(q.select((
        requests::id,
        requests::received_at,
        requests::due_at,
        requests::region_path,
        requests::category_id,
        requests::channel,
        requests::site_id,
        requests::status,
        requests::escalated_at,
    ))
    .load(conn)?)
}

#[derive(QueryableByName)]
struct FeedRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    xmin: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    xmax: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    seq: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    request_id: Option<i64>,
}

/// Where the feed stands before the keys are read whole: every change up to `low` is in what
/// they read. On `PostgreSQL`, a change of a transaction still running may have a lower number
/// than one already committed: `low` stays below the changes of every transaction running now
/// (their `changed_at` is when they began, `now()`).
fn feed_start(conn: &mut DbConnection) -> Result<Feed, DbError> {
    // engine-specific: SQLite numbers in commit order; PostgreSQL asks who is running.
    let low = match conn {
        DbConnection::Sqlite(c) => request_changes::table
            .select(diesel::dsl::max(request_changes::seq))
            .first::<Option<i64>>(c)?
            .unwrap_or(0),
        DbConnection::Postgres(c) => {
            #[derive(QueryableByName)]
            struct Low {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                low: i64,
            }
            diesel::sql_query(
                "SELECT coalesce((SELECT min(seq) - 1 FROM request_changes WHERE changed_at >= \
                 (SELECT min(xact_start) FROM pg_stat_activity WHERE datname = current_database()) \
                 AT TIME ZONE 'UTC'), (SELECT max(seq) FROM request_changes), 0)::bigint AS low",
            )
            .get_result::<Low>(c)?
            .low
        }
    };
    Ok(Feed {
        low,
        ..Feed::default()
    })
}

impl Feed {
    /// The requests changed since the last read, each once.
    fn read(&mut self, conn: &mut DbConnection) -> Result<Vec<i64>, DbError> {
        let mut ids: Vec<i64> = Vec::new();
        // engine-specific: PostgreSQL's read carries its snapshot's bounds.
        match conn {
            DbConnection::Sqlite(c) => {
                let rows: Vec<(i64, i64)> = request_changes::table
                    .filter(request_changes::seq.gt(self.low))
                    .order(request_changes::seq)
                    .select((request_changes::seq, request_changes::request_id))
                    .load(c)?;
                for (seq, id) in rows {
                    self.low = self.low.max(seq);
                    ids.push(id);
                }
            }
            DbConnection::Postgres(c) => {
                let rows: Vec<FeedRow> = diesel::sql_query(
                    "SELECT s.xmin, s.xmax, c.seq, c.request_id FROM (SELECT \
                     pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin, \
                     pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS xmax) s \
                     LEFT JOIN request_changes c ON c.seq > $1 ORDER BY c.seq",
                )
                .bind::<diesel::sql_types::BigInt, _>(self.low)
                .load(c)?;
                let (Some(xmin), Some(xmax)) =
                    (rows.first().map(|r| r.xmin), rows.first().map(|r| r.xmax))
                else {
                    return Ok(ids);
                };
                let mut highest = None;
                for r in &rows {
                    if let (Some(seq), Some(id)) = (r.seq, r.request_id) {
                        highest = Some(seq);
                        if self.seen.insert(seq) {
                            ids.push(id);
                        }
                    }
                }
                if let Some(h) = highest {
                    self.pending.push_back((xmax, h));
                }
                while let Some((x, h)) = self.pending.front().copied() {
                    if x > xmin {
                        break;
                    }
                    self.low = self.low.max(h);
                    self.pending.pop_front();
                }
                let low = self.low;
                self.seen.retain(|s| *s > low);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }
}

/// A filter's site, as [`Test::site`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum SiteTest {
    Any,
    /// Its number in [`Names::sites`] plus one, as [`Entry::site`].
    Is(u32),
    /// A site no request has.
    Unheard,
}

/// What a filter admits, tested on an entry.
struct Test {
    places: Arc<Vec<bool>>,
    /// Bit per status (its place in `Status::ALL`; bit 15: unknown).
    statuses: u16,
    categories: Option<Vec<bool>>,
    site: SiteTest,
    channel: Option<u8>,
    received: (i64, i64),
    /// Deadline in [lo, hi).
    due: Option<(i64, i64)>,
    escalated: bool,
    before_id: Option<i64>,
}

impl Test {
    fn pass(&self, e: &Entry) -> bool {
        self.places.get(e.path as usize).copied().unwrap_or(false)
            && self.statuses & (1 << e.status) != 0
            && self
                .categories
                .as_ref()
                .is_none_or(|c| c.get(e.category as usize).copied().unwrap_or(false))
            && match self.site {
                SiteTest::Any => true,
                SiteTest::Is(s) => s == e.site,
                SiteTest::Unheard => false,
            }
            && self.channel.is_none_or(|c| c == e.channel)
            && e.received >= self.received.0
            && e.received < self.received.1
            && self
                .due
                .is_none_or(|(lo, hi)| e.has_due() && e.due >= lo && e.due < hi)
            && (!self.escalated || e.flags & ESCALATED != 0)
            && self.before_id.is_none_or(|b| e.id < b)
    }
}

/// A place in a page's order, compared ascending.
type Key = (i64, i64, i64);

/// A page's order: how an entry and a cursor place in it.
struct Order {
    sort: Sort,
    /// With words: receipt order is the search index's, by id.
    words: bool,
    /// Category order: each category number's rank.
    category_rank: Vec<i64>,
    /// As [`RequestKeys`]'s.
    scan_max: usize,
    walk_per_candidates: usize,
}

impl Order {
    fn key(&self, e: &Entry) -> Key {
        let d = self.sort.descending;
        let sign = |v: i64| if d { -v } else { v };
        match self.sort.by {
            SortBy::Received if self.words => (0, 0, sign(e.id)),
            SortBy::Received => (0, sign(e.received), sign(e.id)),
            SortBy::Due if e.has_due() => (0, sign(e.due), sign(e.id)),
            SortBy::Due => (1, 0, sign(e.id)),
            SortBy::Status => (sign(i64::from(e.status)), 0, -e.id),
            SortBy::Category => {
                let r = self
                    .category_rank
                    .get(e.category as usize)
                    .copied()
                    .unwrap_or(i64::MAX / 2);
                (sign(r), 0, -e.id)
            }
        }
    }

    fn cursor_key(&self, c: Cursor, index: &Index) -> Key {
        let d = self.sort.descending;
        let sign = |v: i64| if d { -v } else { v };
        match c {
            Cursor::Id(id) | Cursor::Received(_, id) if self.words => (0, 0, sign(id)),
            Cursor::Received(t, id) | Cursor::Due(Some(t), id) => (0, sign(micros(t)), sign(id)),
            Cursor::Id(id) => {
                let t = index
                    .get(id)
                    .map_or_else(|| micros(crate::ids::time_of(id)), |e| e.received);
                (0, sign(t), sign(id))
            }
            Cursor::Due(None, id) => (1, 0, sign(id)),
            Cursor::Group(r, id) => (sign(r), 0, -id),
        }
    }
}

/// Where the candidates for a page or a count are drawn from.
enum Source<'a> {
    /// Slots in receipt order.
    Slots(Range<usize>),
    /// Lists of slots, each in receipt order.
    Lists(Vec<&'a [u32]>),
    /// Slots in no useful order, with copies of their entries.
    Copied(&'a [u32], &'a [Entry]),
}

impl Source<'_> {
    fn len(&self) -> usize {
        match self {
            Self::Slots(r) => r.len(),
            Self::Lists(l) => l.iter().map(|x| x.len()).sum(),
            Self::Copied(s, _) => s.len(),
        }
    }

    /// Every live candidate's entry; `backwards`: each list (and range) from its end, newest
    /// first where it is in receipt order.
    fn for_each(&self, snap: &Snapshot, backwards: bool, mut f: impl FnMut(&Entry)) {
        let mut at = |s: u32| {
            if let Some(e) = snap.live(s) {
                f(e);
            }
        };
        match self {
            Self::Slots(r) if backwards => r.clone().rev().for_each(|s| at(slot(s))),
            Self::Slots(r) => r.clone().for_each(|s| at(slot(s))),
            Self::Lists(l) => {
                for x in l {
                    if backwards {
                        x.iter().rev().for_each(|s| at(*s));
                    } else {
                        x.iter().for_each(|s| at(*s));
                    }
                }
            }
            Self::Copied(slots, entries) => {
                let mut copied = |(s, e): (&u32, &Entry)| {
                    if !snap.stale[*s as usize] {
                        f(e);
                    }
                };
                if backwards {
                    slots.iter().zip(entries.iter()).rev().for_each(&mut copied);
                } else {
                    slots.iter().zip(entries.iter()).for_each(&mut copied);
                }
            }
        }
    }
}

/// The statuses a filter admits, as [`Test::statuses`].
fn status_bits(f: &RequestFilter) -> u16 {
    let mut bits: u16 = 0;
    let restricted = f.status.is_some()
        || !f.any_status.is_empty()
        || f.open.is_some()
        || f.due_before.is_some()
        || f.overdue_at.is_some();
    if !restricted {
        return u16::MAX;
    }
    for (i, s) in Status::ALL.iter().enumerate() {
        let admitted = f.status.is_none_or(|w| w == *s)
            && (f.any_status.is_empty() || f.any_status.contains(s))
            && f.open.is_none_or(|o| s.is_open() == o)
            && ((f.due_before.is_none() && f.overdue_at.is_none()) || s.clock_runs());
        if admitted {
            bits |= 1 << i;
        }
    }
    bits
}

/// Whether the keys can answer this filter (co-handling and a handler's own work are narrow:
/// the database answers them by their indexes).
fn answers(f: &RequestFilter) -> bool {
    f.asked_of.is_none() && f.handled_by.is_none()
}

/// What one list call found in memory: a page's ids, in order (up to the `n` asked for: one
/// more than the page shows, to tell whether there is a page after it), and the count.
pub(crate) struct Found {
    pub ids: Vec<i64>,
    /// The count of all that match, when asked for.
    pub total: Option<i64>,
}

impl RequestKeys {
    /// A page's ids from the keys, or `None` when the database must answer (not loaded, or a
    /// filter the keys do not hold).
    pub(crate) fn page(
        &self,
        conn: &mut DbConnection,
        (scope, f): (&Scope, &RequestFilter),
        (sort, after, n): (Sort, Option<Cursor>, usize),
        with_count: bool,
    ) -> Result<Option<Found>, DbError> {
        self.with_index(conn, f, |conn, index| {
            self.page_in(conn, index, (scope, f), (sort, after, n), with_count)
        })
    }

    fn page_in(
        &self,
        conn: &mut DbConnection,
        index: &Index,
        (scope, f): (&Scope, &RequestFilter),
        (sort, after, n): (Sort, Option<Cursor>, usize),
        with_count: bool,
    ) -> Result<Found, DbError> {
        let (test, matches) = self.prepare(conn, index, scope, f)?;
        let order = Order {
            sort,
            words: matches.is_some(),
            scan_max: self.scan_max,
            walk_per_candidates: self.walk_per_candidates,
            category_rank: if sort.by == SortBy::Category {
                category_ranks(conn, index)?
            } else {
                Vec::new()
            },
        };
        let after = after.map(|c| order.cursor_key(c, index));
        let ids = page_of(index, &test, &order, matches.as_deref(), after, n);
        let total = if with_count {
            let whole = RequestFilter {
                before_id: None,
                ..f.clone()
            };
            let made = Test {
                before_id: None,
                ..test
            };
            Some(self.count_in(index, scope, &whole, || Ok((made, matches)))?)
        } else {
            None
        };
        Ok(Found { ids, total })
    }

    /// What a page and a count of `f` test, and the matches of its words if it has any.
    fn prepare(
        &self,
        conn: &mut DbConnection,
        index: &Index,
        scope: &Scope,
        f: &RequestFilter,
    ) -> Result<Prepared, DbError> {
        let matches = words_of(f).map(|w| self.word_matches(index, &w));
        Ok((self.test(conn, index, scope, f)?, matches))
    }

    /// The exact count of a filter (every page of it: `before_id` aside) from the keys, or
    /// `None` when the database must answer.
    pub(crate) fn count(
        &self,
        conn: &mut DbConnection,
        scope: &Scope,
        f: &RequestFilter,
    ) -> Result<Option<i64>, DbError> {
        let whole = RequestFilter {
            before_id: None,
            ..f.clone()
        };
        self.with_index(conn, &whole, |conn, index| {
            self.count_in(index, scope, &whole, || {
                self.prepare(conn, index, scope, &whole)
            })
        })
    }

    /// The exact counts of a filter in each of `scopes` (a board's places) from the keys, up
    /// to date as of one read of the change feed; `None` when the database must answer.
    pub(crate) fn count_each(
        &self,
        conn: &mut DbConnection,
        scopes: &[Scope],
        f: &RequestFilter,
    ) -> Result<Option<Vec<i64>>, DbError> {
        let whole = RequestFilter {
            before_id: None,
            ..f.clone()
        };
        self.with_index(conn, &whole, |conn, index| {
            let mut out = Vec::with_capacity(scopes.len());
            for scope in scopes {
                out.push(self.count_in(index, scope, &whole, || {
                    self.prepare(conn, index, scope, &whole)
                })?);
            }
            Ok(out)
        })
    }

    /// `then` on the keys, up to date, when they can answer `f`; `None` when the database must.
    fn with_index<T>(
        &self,
        conn: &mut DbConnection,
        f: &RequestFilter,
        then: impl FnOnce(&mut DbConnection, &Index) -> Result<T, DbError>,
    ) -> Result<Option<T>, DbError> {
        if !answers(f) {
            return Ok(None);
        }
        let Some(guard) = self.ready(conn)? else {
            return Ok(None);
        };
        let Some(index) = guard.as_ref() else {
            return Ok(None);
        };
        then(conn, index).map(Some)
    }

    /// The count of `f` (without `before_id`), from the cache or from what `prepare` makes.
    fn count_in(
        &self,
        index: &Index,
        scope: &Scope,
        f: &RequestFilter,
        prepare: impl FnOnce() -> Result<Prepared, DbError>,
    ) -> Result<i64, DbError> {
        // A filter that moves with nothing but the requests is counted once per generation
        // (not one of deadlines, which move with the clock, nor of the categories allowed on
        // the spot, which move with the settings).
        let timeless = f.due_before.is_none() && f.overdue_at.is_none() && !f.on_the_spot;
        let cache_key = format!("{:?}|{f:?}", scope.tops());
        if timeless
            && let Some((g, n)) = self
                .counts
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(&cache_key)
            && *g == index.generation
        {
            return Ok(*n);
        }
        let (test, matches) = prepare()?;
        let n = count_of(index, &test, matches.as_deref());
        if timeless {
            let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
            if counts.len() > 4_096 {
                counts.clear();
            }
            counts.insert(cache_key, (index.generation, n));
        }
        Ok(n)
    }

    fn test(
        &self,
        conn: &mut DbConnection,
        index: &Index,
        scope: &Scope,
        f: &RequestFilter,
    ) -> Result<Test, DbError> {
        let region = match &f.region_path {
            Some(p) => scope.narrowed_to(p),
            None => scope.clone(),
        };
        let places = self.places(index, &region.tops());
        let mut categories: Option<Vec<bool>> = (!f.category_ids.is_empty()).then(|| {
            index
                .categories
                .all
                .iter()
                .map(|c| f.category_ids.contains(c))
                .collect()
        });
        if f.on_the_spot {
            let allowed: Vec<i64> = request_categories::table
                .filter(request_categories::on_the_spot.eq(true))
                .select(request_categories::id)
                .load(conn)?;
            let on_spot: Vec<bool> = index
                .categories
                .all
                .iter()
                .map(|c| allowed.contains(c))
                .collect();
            categories = Some(match categories {
                Some(c) => c.iter().zip(&on_spot).map(|(a, b)| *a && *b).collect(),
                None => on_spot,
            });
        }
        // (The statuses they admit are the running ones: `status_bits`.)
        let due = match (f.due_before, f.overdue_at) {
            (Some((now, before)), Some(t)) => Some((micros(now), micros(before).min(micros(t)))),
            (Some((now, before)), None) => Some((micros(now), micros(before))),
            (None, Some(t)) => Some((i64::MIN, micros(t))),
            (None, None) => None,
        };
        Ok(Test {
            places,
            statuses: status_bits(f),
            categories,
            site: match f.site_id {
                None => SiteTest::Any,
                Some(s) => index
                    .sites
                    .number
                    .get(&s)
                    .map_or(SiteTest::Unheard, |n| SiteTest::Is(n + 1)),
            },
            channel: f.channel.map(|c| channel_number(c.as_str())),
            received: (
                f.received_from.map_or(i64::MIN, micros),
                f.received_to.map_or(i64::MAX, micros),
            ),
            due,
            escalated: f.escalated,
            before_id: f.before_id,
        })
    }

    /// Which of the index's paths lie in these subtrees (kept per set of subtrees until paths
    /// are added).
    fn places(&self, index: &Index, tops: &[String]) -> Arc<Vec<bool>> {
        let key = tops.join("|");
        let known = index.paths.all.len();
        let mut cache = self.places.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((n, set)) = cache.get(&key)
            && *n == known
        {
            return set.clone();
        }
        let set: Arc<Vec<bool>> = Arc::new(
            index
                .paths
                .all
                .iter()
                .map(|p| tops.iter().any(|t| p.starts_with(t.as_str())))
                .collect(),
        );
        if cache.len() > 1_024 {
            cache.clear();
        }
        cache.insert(key, (known, set.clone()));
        set
    }

    /// The requests found by every one of these words (anywhere; the filters and scope are
    /// tested here), kept until the next change.
    fn word_matches(&self, index: &Index, terms: &[String]) -> Arc<WordMatches> {
        let key = terms.join(" ");
        if let Some((g, m)) = self
            .words
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            && *g == index.generation
        {
            return m.clone();
        }
        let m = Arc::new(matching(index, terms));
        let mut words = self.words.lock().unwrap_or_else(PoisonError::into_inner);
        if words.len() > 256 {
            words.clear();
        }
        words.insert(key, (index.generation, m.clone()));
        m
    }
}

/// The requests found by every one of `terms`: the snapshot's (the shortest word's list, each
/// slot looked up in the others') and the overlay's.
fn matching(index: &Index, terms: &[String]) -> WordMatches {
    let mut m = WordMatches {
        slots: Vec::new(),
        entries: Vec::new(),
        ids: Vec::new(),
    };
    let numbers: Option<Vec<u32>> = terms.iter().map(|t| index.words.number(t)).collect();
    let Some(numbers) = numbers.filter(|n| !n.is_empty()) else {
        return m;
    };
    let snap = &index.snap;
    let mut lists: Vec<&[u32]> = numbers.iter().map(|w| snap.postings.list(*w)).collect();
    lists.sort_unstable_by_key(|l| l.len());
    let (first, rest) = (lists[0], &lists[1..]);
    // Each later list is read from where the last slot was found: the slots only grow.
    let mut from = vec![0usize; rest.len()];
    'slots: for s in first {
        for (l, f) in rest.iter().zip(from.iter_mut()) {
            *f += l[*f..].partition_point(|x| x < s);
            if l.get(*f) != Some(s) {
                continue 'slots;
            }
        }
        if let Some(e) = snap.live(*s) {
            m.slots.push(*s);
            m.entries.push(*e);
        }
    }
    m.ids = index
        .overlay_words
        .iter()
        .filter(|(_, w)| numbers.iter().all(|n| w.binary_search(n).is_ok()))
        .map(|(id, _)| *id)
        .collect();
    m
}

fn words_of(f: &RequestFilter) -> Option<Vec<String>> {
    f.text
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .map(super::search::query_terms)
}

/// Each category number's place in the categories' own order (unknown ones last).
fn category_ranks(conn: &mut DbConnection, index: &Index) -> Result<Vec<i64>, DbError> {
    let order = super::listing::category_order(conn)?;
    Ok(index
        .categories
        .all
        .iter()
        .map(|c| {
            order
                .iter()
                .position(|x| x == c)
                .map_or(i64::MAX / 2, |p| p as i64)
        })
        .collect())
}

/// The narrowest set of snapshot slots every match is among.
fn narrowest<'a>(index: &'a Index, t: &Test, words: Option<&'a WordMatches>) -> Source<'a> {
    let snap = &index.snap;
    if let Some(w) = words {
        return Source::Copied(&w.slots, &w.entries);
    }
    let received = {
        let lo = snap.entries.partition_point(|e| e.received < t.received.0);
        let hi = snap.entries.partition_point(|e| e.received < t.received.1);
        lo..hi.max(lo)
    };
    let mut best = Source::Slots(received);
    let mut consider = |s: Source<'a>| {
        if s.len() < best.len() {
            best = s;
        }
    };
    if t.statuses != u16::MAX {
        consider(Source::Lists(
            snap.status_slots
                .iter()
                .enumerate()
                .filter(|(i, _)| t.statuses & (1 << i) != 0)
                .map(|(_, l)| l.as_slice())
                .collect(),
        ));
    }
    if let Some(c) = &t.categories {
        consider(Source::Lists(
            snap.category_slots
                .iter()
                .enumerate()
                .filter(|(i, _)| c.get(*i).copied().unwrap_or(false))
                .map(|(_, l)| l.as_slice())
                .collect(),
        ));
    }
    match t.site {
        SiteTest::Any => {}
        SiteTest::Is(s) => consider(Source::Lists(vec![
            snap.site_slots.get(&s).map_or(&[][..], Vec::as_slice),
        ])),
        SiteTest::Unheard => consider(Source::Lists(Vec::new())),
    }
    if let Some((lo, hi)) = t.due {
        let (a, b) = running_due_range(snap, lo, hi);
        consider(Source::Copied(
            &snap.running_due[a..b],
            &snap.running_due_entries[a..b],
        ));
    }
    best
}

/// Where the running requests due in [lo, hi) lie in [`Snapshot::running_due`].
fn running_due_range(snap: &Snapshot, lo: i64, hi: i64) -> (usize, usize) {
    let e = &snap.running_due_entries;
    let a = e.partition_point(|x| x.due < lo);
    let b = e.partition_point(|x| x.due < hi);
    (a, b.max(a))
}

fn count_of(index: &Index, t: &Test, words: Option<&WordMatches>) -> i64 {
    let mut n: i64 = 0;
    narrowest(index, t, words).for_each(&index.snap, false, |e| {
        if t.pass(e) {
            n += 1;
        }
    });
    let overlay = match words {
        Some(w) => w
            .ids
            .iter()
            .filter_map(|id| index.overlay.get(id))
            .filter(|e| t.pass(e))
            .count(),
        None => index.overlay.values().filter(|e| t.pass(e)).count(),
    };
    n + overlay as i64
}

/// Up to `n` ids after `after` in the order: the snapshot's and the overlay's merged.
fn page_of(
    index: &Index,
    t: &Test,
    order: &Order,
    words: Option<&WordMatches>,
    after: Option<Key>,
    n: usize,
) -> Vec<i64> {
    let fits = |e: &Entry| t.pass(e) && after.is_none_or(|a| order.key(e) > a);
    let mut overlay: Vec<(Key, i64)> = match words {
        Some(w) => w
            .ids
            .iter()
            .filter_map(|id| index.overlay.get(id))
            .filter(|e| fits(e))
            .map(|e| (order.key(e), e.id))
            .collect(),
        None => index
            .overlay
            .values()
            .filter(|e| fits(e))
            .map(|e| (order.key(e), e.id))
            .collect(),
    };
    overlay.sort_unstable();
    overlay.truncate(n);
    let mut snap = snapshot_page(index, t, order, words, after, n);
    snap.extend(overlay);
    snap.sort_unstable();
    snap.truncate(n);
    snap.into_iter().map(|(_, id)| id).collect()
}

/// Up to `n` of the snapshot's live entries after `after` in the order, with their keys.
fn snapshot_page(
    index: &Index,
    t: &Test,
    order: &Order,
    words: Option<&WordMatches>,
    after: Option<Key>,
    n: usize,
) -> Vec<(Key, i64)> {
    let source = narrowest(index, t, words);
    match (order.sort.by, &source) {
        // The words' matches are the candidates, whatever the order.
        _ if words.is_some() => pick(index, t, order, &source, after, n),
        (SortBy::Received, Source::Slots(_) | Source::Lists(_)) => {
            walk_receipt(index, t, order, &source, after, n)
        }
        (SortBy::Received, _) => pick(index, t, order, &source, after, n),
        _ if source.len() <= order.scan_max => pick(index, t, order, &source, after, n),
        _ => {
            let budget = source
                .len()
                .checked_div(order.walk_per_candidates)
                .unwrap_or(usize::MAX);
            walk_order(index, t, order, (after, n), budget)
                .unwrap_or_else(|| pick(index, t, order, &source, after, n))
        }
    }
}

/// The `n` first in the order among every candidate in `source`. The best found so far are
/// kept loosely (up to four times `n`, then cut to `n`): a candidate that cannot beat the
/// `n`-th is passed over, and candidates that come better and better (a source read against
/// its order) cost a cut now and then, not a heap's work each.
fn pick(
    index: &Index,
    t: &Test,
    order: &Order,
    source: &Source,
    after: Option<Key>,
    n: usize,
) -> Vec<(Key, i64)> {
    let n = n.max(1);
    let mut kept: Vec<(Key, i64)> = Vec::with_capacity(4 * n);
    let mut worst: Option<(Key, i64)> = None;
    // Read the way the order prefers, so that candidates mostly come worse and worse and are
    // passed over: every order but the oldest (or earliest due) first ends with the newest
    // first (the groups' inner order; deadlines follow receipt).
    let backwards =
        order.sort.descending || !matches!(order.sort.by, SortBy::Received | SortBy::Due);
    source.for_each(&index.snap, backwards, |e| {
        if !t.pass(e) {
            return;
        }
        let item = (order.key(e), e.id);
        if after.is_some_and(|a| item.0 <= a) || worst.is_some_and(|w| item >= w) {
            return;
        }
        kept.push(item);
        if kept.len() >= 4 * n {
            kept.select_nth_unstable(n - 1);
            kept.truncate(n);
            worst = kept.iter().max().copied();
        }
    });
    kept.sort_unstable();
    kept.truncate(n);
    kept
}

/// Receipt order: walk the candidates (each list in receipt order) from the cursor's place.
fn walk_receipt(
    index: &Index,
    t: &Test,
    order: &Order,
    source: &Source,
    after: Option<Key>,
    n: usize,
) -> Vec<(Key, i64)> {
    let snap = &index.snap;
    let desc = order.sort.descending;
    // Slots are in receipt order: ascending, the slots from the first past the cursor's row;
    // descending, those before the first at or past it.
    let cut = after.map(|(_, r, id)| {
        let at = if desc { (-r, -id) } else { (r, id) };
        if desc {
            snap.entries.partition_point(|e| (e.received, e.id) < at)
        } else {
            snap.entries.partition_point(|e| (e.received, e.id) <= at)
        }
    });
    let mut out = Vec::with_capacity(n);
    let mut take = |s: u32| -> bool {
        if let Some(e) = snap.live(s)
            && t.pass(e)
        {
            out.push((order.key(e), e.id));
        }
        out.len() >= n
    };
    match source {
        Source::Slots(r) => {
            let mut r = r.clone();
            match (cut, desc) {
                (Some(c), true) => r.end = r.end.min(c),
                (Some(c), false) => r.start = r.start.max(c),
                (None, _) => {}
            }
            r.end = r.end.max(r.start);
            if desc {
                for s in r.rev() {
                    if take(slot(s)) {
                        break;
                    }
                }
            } else {
                for s in r {
                    if take(slot(s)) {
                        break;
                    }
                }
            }
        }
        Source::Lists(lists) => {
            // Each list from the cursor's place (descending: read backwards from there), merged.
            let mut heads: Vec<(&[u32], usize)> = lists
                .iter()
                .map(|l| {
                    let p = match cut {
                        Some(c) => l.partition_point(|s| (*s as usize) < c),
                        None if desc => l.len(),
                        None => 0,
                    };
                    (*l, p)
                })
                .collect();
            loop {
                // The next slot among the lists' heads.
                let next = heads
                    .iter()
                    .enumerate()
                    .filter_map(|(i, (l, p))| {
                        if desc {
                            p.checked_sub(1).map(|q| (i, l[q]))
                        } else {
                            l.get(*p).map(|s| (i, *s))
                        }
                    })
                    .reduce(|a, b| {
                        if (desc && b.1 > a.1) || (!desc && b.1 < a.1) {
                            b
                        } else {
                            a
                        }
                    });
                let Some((i, s)) = next else { break };
                if desc {
                    heads[i].1 -= 1;
                } else {
                    heads[i].1 += 1;
                }
                if take(s) {
                    break;
                }
            }
        }
        Source::Copied(..) => {}
    }
    out
}

/// Deadline, status or category order: walk the order's own list from the cursor's place,
/// testing each entry; `None` when that tests more than `budget` entries.
fn walk_order(
    index: &Index,
    t: &Test,
    order: &Order,
    (after, n): (Option<Key>, usize),
    budget: usize,
) -> Option<Vec<(Key, i64)>> {
    let snap = &index.snap;
    let desc = order.sort.descending;
    // The order's lists, in the order they are read, each read forwards or backwards.
    let mut parts: Vec<(&[u32], bool)> = Vec::new();
    match order.sort.by {
        SortBy::Due => {
            let with_due: &[u32] = match t.due {
                Some((lo, hi)) => {
                    let (a, b) = running_due_range(snap, lo, hi);
                    &snap.running_due[a..b]
                }
                None => &snap.by_due,
            };
            parts.push((with_due, desc));
            if t.due.is_none() {
                parts.push((&snap.no_due, desc));
            }
        }
        SortBy::Status => {
            let mut groups: Vec<usize> = (0..Status::ALL.len())
                .filter(|i| t.statuses & (1 << i) != 0)
                .collect();
            if desc {
                groups.reverse();
            }
            // Newest (highest id) first within each.
            parts.extend(
                groups
                    .into_iter()
                    .map(|g| (snap.status_ids[g].as_slice(), true)),
            );
        }
        SortBy::Category => {
            let mut groups: Vec<(i64, usize)> = order
                .category_rank
                .iter()
                .enumerate()
                .filter(|(i, _)| {
                    t.categories
                        .as_ref()
                        .is_none_or(|c| c.get(*i).copied().unwrap_or(false))
                })
                .map(|(i, r)| (*r, i))
                .collect();
            groups.sort_unstable();
            if desc {
                groups.reverse();
            }
            parts.extend(
                groups
                    .into_iter()
                    .filter_map(|(_, i)| snap.category_ids.get(i))
                    .map(|l| (l.as_slice(), true)),
            );
        }
        SortBy::Received => return None,
    }
    let mut out = Vec::with_capacity(n);
    let mut tested = 0usize;
    for (list, backwards) in parts {
        // Skip what lies at or before the cursor: the list is in the order's key order
        // (backwards or forwards), so that part is a prefix of the reading.
        let key_at = |s: &u32| order.key(&snap.entries[*s as usize]);
        let (lo, hi) = match after {
            None => (0, list.len()),
            Some(a) if backwards => (0, list.partition_point(|s| key_at(s) > a)),
            Some(a) => (list.partition_point(|s| key_at(s) <= a), list.len()),
        };
        let range = lo..hi;
        let mut visit = |s: u32| -> Option<bool> {
            tested += 1;
            if tested > budget {
                return None;
            }
            if let Some(e) = snap.live(s)
                && t.pass(e)
            {
                out.push((order.key(e), e.id));
            }
            Some(out.len() >= n)
        };
        if backwards {
            for s in list[range].iter().rev() {
                if visit(*s)? {
                    return Some(out);
                }
            }
        } else {
            for s in &list[range] {
                if visit(*s)? {
                    return Some(out);
                }
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 11, day)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap()
    }

    /// A request's keys as the database gives them: id, received that day.
    fn row(id: i64, day: u32) -> Row {
        (
            id,
            at(day),
            None,
            "/1/".into(),
            1,
            "hotline".into(),
            None,
            "received".into(),
            None,
        )
    }

    /// An index loaded from (id, day received, words), in id order.
    fn loaded(requests: &[(i64, u32, &str)]) -> Index {
        let mut index = Index::empty();
        let (mut entries, mut words, mut starts) = (Vec::new(), Vec::new(), vec![0]);
        for (id, day, text) in requests {
            entries.push(index.entry_of(&row(*id, *day)));
            words.extend(index.word_numbers(text));
            starts.push(words.len());
        }
        index.start_from(entries, &words, &starts);
        index
    }

    fn found(index: &Index, words: &[&str]) -> Vec<i64> {
        let terms: Vec<String> = words.iter().map(ToString::to_string).collect();
        let m = matching(index, &terms);
        let mut ids: Vec<i64> = m.entries.iter().map(|e| e.id).chain(m.ids).collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn a_word_is_numbered_once_and_found_by_its_text_even_when_its_hash_clashes() {
        use std::hash::BuildHasher;
        let mut book = WordBook::default();
        assert_eq!(
            (
                book.intern("租房"),
                book.intern("押金"),
                book.intern("租房")
            ),
            (0, 1, 0)
        );
        assert_eq!((book.word(0), book.word(1)), ("租房", "押金"));
        assert_eq!(book.number("纠纷"), None);
        // A word whose hash another word has: as if 纠纷's were 租房's.
        let h = book.hasher.hash_one("纠纷");
        book.by_hash.insert(h, 0);
        assert_eq!(book.number("纠纷"), None);
        assert_eq!(book.intern("纠纷"), 2);
        assert_eq!(
            (book.number("纠纷"), book.number("租房"), book.len()),
            (Some(2), Some(0), 3)
        );
    }

    #[test]
    fn words_find_their_requests_before_and_after_changes_and_a_rebuild() {
        // Received out of id order, so that receipt order (the slots') is not the ids'.
        let mut index = loaded(&[
            (1, 5, "租房 纠纷 押金"),
            (2, 3, "租房 合同"),
            (3, 4, "转学 小学"),
            (4, 1, "押金 租房"),
        ]);
        assert_eq!(found(&index, &["租房"]), [1, 2, 4]);
        assert_eq!(found(&index, &["押金", "租房"]), [1, 4]);
        assert_eq!(found(&index, &["租房", "小学"]), Vec::<i64>::new());
        assert_eq!(found(&index, &["无此词"]), Vec::<i64>::new());
        // 2 loses a word and gains one, 3 is gone, 5 comes (with a word never seen).
        let words: HashMap<i64, String> = [(2, "合同 押金".to_string()), (5, "租房 新词".into())]
            .into_iter()
            .collect();
        index.apply(&[2, 3, 5], &[row(2, 3), row(5, 2)], &words);
        let expect = |index: &Index| {
            assert_eq!(found(index, &["租房"]), [1, 4, 5]);
            assert_eq!(found(index, &["押金"]), [1, 2, 4]);
            assert_eq!(found(index, &["新词"]), [5]);
            assert_eq!(found(index, &["转学"]), Vec::<i64>::new());
        };
        expect(&index);
        index.rebuild();
        assert!(index.overlay.is_empty() && index.overlay_words.is_empty());
        assert_eq!(index.snap.entries.len(), 4);
        expect(&index);
        // Each list stays in slot order.
        for w in 0..index.words.len() {
            let l = index.snap.postings.list(slot(w));
            assert!(l.windows(2).all(|p| p[0] < p[1]), "{l:?}");
        }
    }
}
