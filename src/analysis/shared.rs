//! Printing many terms at once with large shared parts printed once, so
//! that a report's size stays proportional to what it says.
//!
//! Terms are hash-consed DAGs: `n` secrets taken out of one `n`-tuple give
//! `n` traces that each print the tuple and its `n` components, `n²` in
//! all; a term nested `k` levels deep in itself doubles its printed size
//! `k` times. A [`Namer`] is given every term and every list of terms (a
//! step's arguments, its results) a report prints, counted with
//! multiplicity, and names:
//!
//! * each term whose printed form is longer than [`SHARE_ABOVE`] characters
//!   and that would be printed more than once (in the roots, or inside
//!   other terms that are not named themselves);
//! * each list of two or more terms, printed longer than [`SHARE_ABOVE`]
//!   characters, that occurs more than once.
//!
//! A name is `@1`, `@2`, ... (`@` is in no term's syntax): named terms
//! first, in term id order (so a term's children come before it and each
//! entry uses only earlier names), then named lists in the order they are
//! first given. The table ([`SharedTerm`]s) prints each entry once; where
//! it is used, the name is printed instead. Small reports name nothing
//! and print exactly as before. [`expand`] puts the entries back.

use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use crate::front::term::{Term, TermId, TermStore};

/// Terms and lists printed longer than this many characters are named
/// when they occur more than once.
pub const SHARE_ABOVE: u64 = 80;

/// One named entry of a report's shared-term table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SharedTerm {
    /// `@1`, `@2`, ...
    pub name: String,
    /// The term (one item) or the list of terms the name stands for,
    /// printed with earlier names. Where the name is a whole element of a
    /// list (a step's arguments or results), these items are spliced in;
    /// inside a term it is a term entry and stands for its one item.
    pub items: Vec<String>,
}

/// Decides which terms and lists to name, and prints with those names.
pub struct Namer {
    /// Named terms and their names.
    terms: FxHashMap<TermId, String>,
    /// Named lists and their names.
    lists: FxHashMap<Vec<TermId>, String>,
    /// The table, in name order.
    table: Vec<SharedTerm>,
}

impl Namer {
    /// A namer that names nothing (prints every term in full).
    pub fn none() -> Self {
        Namer {
            terms: FxHashMap::default(),
            lists: FxHashMap::default(),
            table: Vec::new(),
        }
    }

    /// Decides the names for a report that prints each of `terms` once and
    /// each of `lists` once (repeats count: a term twice in `terms` is
    /// printed twice).
    pub fn new(store: &TermStore, terms: &[TermId], lists: &[Vec<TermId>]) -> Self {
        let mut len: FxHashMap<TermId, u64> = FxHashMap::default();
        let mut occ: FxHashMap<TermId, u64> = FxHashMap::default();
        // Lists: counted, then named or not; their items occur once per
        // printing of the list (once when the list is named).
        let mut list_count: FxHashMap<&[TermId], u64> = FxHashMap::default();
        let mut list_order: Vec<&[TermId]> = Vec::new();
        for l in lists {
            let c = list_count.entry(l.as_slice()).or_insert(0);
            if *c == 0 {
                list_order.push(l.as_slice());
            }
            *c += 1;
        }
        let mut named_lists: Vec<&[TermId]> = Vec::new();
        for l in &list_order {
            let count = list_count[l];
            let printed = l
                .iter()
                .map(|t| printed_len(store, *t, &mut len))
                .fold(2 * (l.len() as u64).saturating_sub(1), u64::saturating_add);
            let named = l.len() > 1 && count > 1 && printed > SHARE_ABOVE;
            if named {
                named_lists.push(l);
            }
            for t in l.iter() {
                let o = occ.entry(*t).or_insert(0);
                *o = o.saturating_add(if named { 1 } else { count });
            }
        }
        for t in terms {
            let o = occ.entry(*t).or_insert(0);
            *o = o.saturating_add(1);
        }
        // Only terms longer than the threshold can be named, and their
        // children are shorter: collect the long ones reachable from the
        // roots, then decide parents before children (a child's id is
        // smaller than its parent's).
        let mut long: Vec<TermId> = Vec::new();
        let mut seen: FxHashSet<TermId> = FxHashSet::default();
        let mut stack: Vec<TermId> = occ.keys().copied().collect();
        while let Some(t) = stack.pop() {
            if printed_len(store, t, &mut len) <= SHARE_ABOVE || !seen.insert(t) {
                continue;
            }
            long.push(t);
            stack.extend(children(store, t).iter().copied());
        }
        long.sort_unstable_by(|a, b| b.cmp(a));
        let mut named: Vec<TermId> = Vec::new();
        for t in long {
            let o = occ.get(&t).copied().unwrap_or(0);
            let is_named = o > 1;
            if is_named {
                named.push(t);
            }
            let passed = if is_named { 1 } else { o };
            for c in children(store, t).iter() {
                let e = occ.entry(*c).or_insert(0);
                *e = e.saturating_add(passed);
            }
        }
        named.sort_unstable();
        let mut namer = Namer::none();
        for (i, t) in named.iter().enumerate() {
            namer.terms.insert(*t, format!("@{}", i + 1));
        }
        for t in &named {
            let item = store.show_named(*t, &namer.terms);
            namer.table.push(SharedTerm {
                name: namer.terms[t].clone(),
                items: vec![item],
            });
        }
        for l in named_lists {
            let name = format!("@{}", namer.table.len() + 1);
            let items = l.iter().map(|t| namer.term(store, *t)).collect();
            namer.table.push(SharedTerm {
                name: name.clone(),
                items,
            });
            namer.lists.insert(l.to_vec(), name);
        }
        namer
    }

    /// The term, printed: its name when it is named, else in full with
    /// named subterms by name.
    pub fn term(&self, store: &TermStore, t: TermId) -> String {
        match self.terms.get(&t) {
            Some(name) => name.clone(),
            None => store.show_named(t, &self.terms),
        }
    }

    /// A list of terms, printed: `["@k"]` when the list is named, else
    /// each term as [`Namer::term`] prints it.
    pub fn list(&self, store: &TermStore, l: &[TermId]) -> Vec<String> {
        match self.lists.get(l) {
            Some(name) => vec![name.clone()],
            None => l.iter().map(|t| self.term(store, *t)).collect(),
        }
    }

    /// The table of named entries, in name order.
    pub fn into_table(self) -> Vec<SharedTerm> {
        self.table
    }
}

/// The arguments of an application or operands of an XOR.
fn children(store: &TermStore, t: TermId) -> &[TermId] {
    match store.get(t) {
        Term::App(_, args) | Term::Xor(args) => args,
        _ => &[],
    }
}

/// The length in characters of `store.show(t)`, computed without printing
/// (saturating: a deep shared term's printed length can pass `u64`).
fn printed_len(store: &TermStore, t: TermId, memo: &mut FxHashMap<TermId, u64>) -> u64 {
    if let Some(n) = memo.get(&t) {
        return *n;
    }
    let n = match store.get(t) {
        Term::Name(n) => store.name(*n).text.chars().count() as u64,
        Term::Zero => 1,
        Term::Var(v) => 1 + v.to_string().len() as u64,
        Term::App(c, args) => {
            let ctor = store.ctor(*c);
            let head = if ctor.tuple {
                0
            } else {
                ctor.text.chars().count() as u64
            };
            let args = args.clone();
            args.iter().map(|a| printed_len(store, *a, memo)).fold(
                head + 2 + 2 * (args.len() as u64).saturating_sub(1),
                u64::saturating_add,
            )
        }
        Term::Xor(ops) => {
            let ops = ops.clone();
            ops.iter()
                .map(|a| {
                    let l = printed_len(store, *a, memo);
                    // An XOR operand that is itself an XOR is parenthesised.
                    match store.get(*a) {
                        Term::Xor(_) => l.saturating_add(2),
                        _ => l,
                    }
                })
                .fold(
                    3 * (ops.len() as u64).saturating_sub(1),
                    u64::saturating_add,
                )
        }
    };
    memo.insert(t, n);
    n
}

/// Puts named entries back: every `@k` in `text` replaced by entry `k`'s
/// one item, expanded in turn. `expanded` holds the entries expanded so
/// far (an entry uses only earlier names).
pub fn expand_text(text: &str, expanded: &FxHashMap<String, Vec<String>>) -> String {
    if !text.contains('@') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..at]);
        let digits = rest[at + 1..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(rest.len() - at - 1, |d| d);
        let name = &rest[at..at + 1 + digits];
        match expanded.get(name) {
            Some(items) if digits > 0 => out.push_str(&items.join(", ")),
            _ => out.push_str(name),
        }
        rest = &rest[at + 1 + digits..];
    }
    out.push_str(rest);
    out
}

/// Puts named entries back into a list: an element that is a whole name
/// is replaced by the entry's items (a list entry splices in), and names
/// inside elements by their terms.
pub fn expand_list(list: &[String], expanded: &FxHashMap<String, Vec<String>>) -> Vec<String> {
    let mut out = Vec::with_capacity(list.len());
    for s in list {
        match expanded.get(s) {
            Some(items) => out.extend(items.iter().cloned()),
            None => out.push(expand_text(s, expanded)),
        }
    }
    out
}

/// The table's entries with every name inside them put back, by name.
pub fn expansions(table: &[SharedTerm]) -> FxHashMap<String, Vec<String>> {
    let mut expanded: FxHashMap<String, Vec<String>> = FxHashMap::default();
    for e in table {
        let items = e.items.iter().map(|i| expand_text(i, &expanded)).collect();
        expanded.insert(e.name.clone(), items);
    }
    expanded
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::term::NameKind;

    /// A store with `n` names and the tuple of them.
    fn tuple(n: usize) -> (TermStore, Vec<TermId>, TermId) {
        let mut s = TermStore::new();
        let names: Vec<TermId> = (0..n)
            .map(|i| {
                let id = s.declare_name(&format!("s{i}"), NameKind::Secret);
                s.name_term(id)
            })
            .collect();
        let c = s.tuple_ctor(n);
        let t = s.app(c, &names);
        (s, names, t)
    }

    #[test]
    fn short_or_single_terms_are_not_named() {
        let (s, names, t) = tuple(40);
        // Long but printed once: not named.
        let n = Namer::new(&s, &[t], std::slice::from_ref(&names));
        assert_eq!(n.term(&s, t), s.show(t));
        assert!(n.into_table().is_empty());
        // Short and printed twice: not named.
        let (s, _, t) = tuple(3);
        let n = Namer::new(&s, &[t, t], &[]);
        assert_eq!(n.term(&s, t), "(s0, s1, s2)");
        assert!(n.into_table().is_empty());
    }

    #[test]
    fn a_long_term_and_list_printed_twice_are_named_once_and_expand_back() {
        let (mut s, names, t) = tuple(40);
        let c = s.tuple_ctor(2);
        let pair = s.app(c, &[t, names[0]]);
        let lists = vec![vec![t], names.clone(), vec![t], names.clone()];
        let n = Namer::new(&s, &[pair, names[1]], &lists);
        assert_eq!(n.term(&s, t), "@1");
        assert_eq!(n.term(&s, pair), "(@1, s0)");
        assert_eq!(n.list(&s, &names), vec!["@2".to_string()]);
        let table = n.into_table();
        assert_eq!(table.len(), 2);
        assert_eq!(table[0].items, vec![s.show(t)]);
        assert_eq!(table[1].items.len(), 40);
        let e = expansions(&table);
        assert_eq!(expand_text("(@1, s0)", &e), s.show(pair));
        let full: Vec<String> = names.iter().map(|t| s.show(*t)).collect();
        assert_eq!(expand_list(&["@2".to_string()], &e), full);
        assert_eq!(expand_text("a@b @", &e), "a@b @");
    }

    #[test]
    fn a_term_doubling_at_each_level_prints_in_linear_size() {
        let mut s = TermStore::new();
        let id = s.declare_name("A_long_name_for_the_base_of_the_tower", NameKind::Public);
        let mut t = s.name_term(id);
        let c = s.tuple_ctor(2);
        for _ in 0..60 {
            t = s.app(c, &[t, t]);
        }
        let n = Namer::new(&s, &[t], &[]);
        let top = n.term(&s, t);
        let table = n.into_table();
        let size: usize = table.iter().map(|e| e.items[0].len()).sum::<usize>() + top.len();
        assert!(size < 60 * 20, "{size}");
    }
}
