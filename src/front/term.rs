//! Terms: symbols, hash-consed term ids, XOR normal form, depth, printing.
//!
//! Every term lives once in a [`TermStore`] and is named by a [`TermId`].
//! Children are interned before their parents, so a term's id is always
//! greater than its children's ids. Two terms are equal exactly when their
//! ids are equal: XOR terms are stored in one normal form (flattened,
//! operands sorted by id, pairs cancelled, `0` dropped, a single operand
//! unwrapped), so equality modulo XOR is id equality too.
//!
//! Pattern variables are terms as well ([`Term::Var`]), numbered per rule,
//! so that patterns and ground terms share one store and one printer.

use hashbrown::HashTable;
use rustc_hash::FxHashMap as HashMap;
use std::fmt::Write as _;
use std::hash::BuildHasher as _;

/// A hash-consed term: index into a [`TermStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TermId(pub u32);

/// A name (constant): index into the store's name table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NameId(pub u32);

/// A constructor symbol: index into the store's constructor table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CtorId(pub u32);

/// What the attacker knows of a name before saturation starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NameKind {
    /// A constant the attacker knows (includes type tags).
    Public,
    /// A type tag: public, listed apart only for readability.
    Tag,
    /// A constant the attacker does not know at the start.
    Secret,
    /// A name of the attacker's own.
    Attacker,
    /// A value the HSM generates on each call of one function; abstracted
    /// to this one name per generating call site.
    Fresh,
}

impl NameKind {
    /// True when the attacker knows the name from the start.
    pub fn is_public(self) -> bool {
        matches!(self, NameKind::Public | NameKind::Tag | NameKind::Attacker)
    }
}

/// A name's entry in the store.
#[derive(Clone, Debug)]
pub struct NameInfo {
    /// The name as written in the API file.
    pub text: String,
    /// Its kind.
    pub kind: NameKind,
}

/// How a constructor is written and what the attacker may do with it.
#[derive(Clone, Debug)]
pub struct CtorInfo {
    /// The constructor's name (`senc`, `hdl`; `tuple3` for 3-tuples).
    pub text: String,
    /// Number of arguments.
    pub arity: usize,
    /// True when the attacker may apply it to terms it knows.
    pub public: bool,
    /// True for the flat n-ary tuple constructors.
    pub tuple: bool,
}

/// One node of a term.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Term {
    /// A constant.
    Name(NameId),
    /// A constructor applied to arguments.
    App(CtorId, Box<[TermId]>),
    /// XOR of two or more operands, in normal form: none is `Zero` or a
    /// `Xor`, operands sorted by id, no operand twice.
    Xor(Box<[TermId]>),
    /// The all-zero constant `0`, neutral element of XOR; public.
    Zero,
    /// A pattern variable, numbered within its rule.
    Var(u32),
}

/// A node of a term, borrowed: what the hash-consing table compares and
/// hashes, from a stored [`Term`] or from the parts of one not yet built.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum NodeRef<'a> {
    Name(NameId),
    App(CtorId, &'a [TermId]),
    Xor(&'a [TermId]),
    Zero,
    Var(u32),
}

impl<'a> NodeRef<'a> {
    fn of(term: &'a Term) -> Self {
        match term {
            Term::Name(n) => NodeRef::Name(*n),
            Term::App(c, args) => NodeRef::App(*c, args),
            Term::Xor(ops) => NodeRef::Xor(ops),
            Term::Zero => NodeRef::Zero,
            Term::Var(v) => NodeRef::Var(*v),
        }
    }
}

/// The hash of a node (fixed, not seeded: the store's contents never
/// depend on it, only its lookups' speed).
fn node_hash(node: NodeRef<'_>) -> u64 {
    rustc_hash::FxBuildHasher.hash_one(node)
}

/// A term outside the store ([`TermStore::lift`]): what must survive a
/// [`TermStore::truncate`], to be interned again with [`TermStore::land`].
#[derive(Clone, Debug)]
pub enum Lifted {
    /// A term the truncation keeps.
    Kept(TermId),
    /// A name.
    Name(NameId),
    /// `0`.
    Zero,
    /// A variable.
    Var(u32),
    /// A constructor applied to arguments.
    App(CtorId, Vec<Lifted>),
    /// An XOR of operands.
    Xor(Vec<Lifted>),
}

/// The arena of terms and the symbol tables.
#[derive(Clone, Debug, Default)]
pub struct TermStore {
    terms: Vec<Term>,
    depth: Vec<u16>,
    ground: Vec<bool>,
    /// The hash-consing table: term ids, found by their node's hash
    /// ([`node_hash`]), so that a lookup needs no owned [`Term`] and a
    /// node is stored once.
    index: HashTable<TermId>,
    names: Vec<NameInfo>,
    name_index: HashMap<String, NameId>,
    ctors: Vec<CtorInfo>,
    ctor_index: HashMap<String, CtorId>,
}

impl TermStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    // ----- symbols -------------------------------------------------------

    /// Declares a name, or returns the existing one with that text.
    pub fn declare_name(&mut self, text: &str, kind: NameKind) -> NameId {
        if let Some(&id) = self.name_index.get(text) {
            return id;
        }
        let id = NameId(self.names.len() as u32);
        self.names.push(NameInfo {
            text: text.to_string(),
            kind,
        });
        self.name_index.insert(text.to_string(), id);
        id
    }

    /// Looks a name up by its text.
    pub fn find_name(&self, text: &str) -> Option<NameId> {
        self.name_index.get(text).copied()
    }

    /// The entry of a name.
    pub fn name(&self, id: NameId) -> &NameInfo {
        &self.names[id.0 as usize]
    }

    /// Every declared name, in declaration order.
    pub fn names(&self) -> impl Iterator<Item = (NameId, &NameInfo)> {
        self.names
            .iter()
            .enumerate()
            .map(|(i, n)| (NameId(i as u32), n))
    }

    /// Declares a constructor, or returns the existing one with that text.
    pub fn declare_ctor(&mut self, text: &str, arity: usize, public: bool) -> CtorId {
        if let Some(&id) = self.ctor_index.get(text) {
            return id;
        }
        let id = CtorId(self.ctors.len() as u32);
        self.ctors.push(CtorInfo {
            text: text.to_string(),
            arity,
            public,
            tuple: false,
        });
        self.ctor_index.insert(text.to_string(), id);
        id
    }

    /// The public flat tuple constructor of the given arity (at least 2).
    pub fn tuple_ctor(&mut self, arity: usize) -> CtorId {
        let text = format!("tuple{arity}");
        let id = self.declare_ctor(&text, arity, true);
        self.ctors[id.0 as usize].tuple = true;
        id
    }

    /// Looks a constructor up by its text.
    pub fn find_ctor(&self, text: &str) -> Option<CtorId> {
        self.ctor_index.get(text).copied()
    }

    /// The entry of a constructor.
    pub fn ctor(&self, id: CtorId) -> &CtorInfo {
        &self.ctors[id.0 as usize]
    }

    // ----- interning -----------------------------------------------------

    fn intern(&mut self, term: Term) -> TermId {
        let hash = node_hash(NodeRef::of(&term));
        if let Some(id) = self.find(hash, NodeRef::of(&term)) {
            return id;
        }
        self.insert(hash, term)
    }

    /// The id of the node `key`, interned with `make` if new: a lookup that
    /// finds its term builds (and allocates) nothing.
    fn intern_node(&mut self, key: NodeRef<'_>, make: impl FnOnce() -> Term) -> TermId {
        let hash = node_hash(key);
        match self.find(hash, key) {
            Some(id) => id,
            None => self.insert(hash, make()),
        }
    }

    /// The id of the node `key` (with hash `hash`), if interned.
    fn find(&self, hash: u64, key: NodeRef<'_>) -> Option<TermId> {
        let terms = &self.terms;
        self.index
            .find(hash, |id| NodeRef::of(&terms[id.0 as usize]) == key)
            .copied()
    }

    /// Interns `term`, known not to be in the store, whose hash is `hash`.
    fn insert(&mut self, hash: u64, term: Term) -> TermId {
        let (depth, ground) = match &term {
            Term::Name(_) | Term::Zero => (0, true),
            Term::Var(_) => (0, false),
            Term::App(_, args) => (
                1 + args.iter().map(|a| self.depth(*a)).max().unwrap_or(0),
                args.iter().all(|a| self.is_ground(*a)),
            ),
            Term::Xor(args) => (
                args.iter().map(|a| self.depth(*a)).max().unwrap_or(0),
                args.iter().all(|a| self.is_ground(*a)),
            ),
        };
        let id = TermId(self.terms.len() as u32);
        self.terms.push(term);
        self.depth.push(depth);
        self.ground.push(ground);
        let terms = &self.terms;
        self.index
            .insert_unique(hash, id, |id| node_hash(NodeRef::of(&terms[id.0 as usize])));
        id
    }

    /// The term of a name.
    pub fn name_term(&mut self, name: NameId) -> TermId {
        self.intern(Term::Name(name))
    }

    /// The constant `0`.
    pub fn zero(&mut self) -> TermId {
        self.intern(Term::Zero)
    }

    /// A pattern variable.
    pub fn var(&mut self, index: u32) -> TermId {
        self.intern(Term::Var(index))
    }

    /// A constructor applied to arguments; the arity must match.
    pub fn app(&mut self, ctor: CtorId, args: &[TermId]) -> TermId {
        debug_assert_eq!(self.ctor(ctor).arity, args.len());
        self.intern_node(NodeRef::App(ctor, args), || Term::App(ctor, args.into()))
    }

    /// The XOR of the operands, in normal form.
    pub fn xor(&mut self, operands: &[TermId]) -> TermId {
        let mut flat: Vec<TermId> = Vec::with_capacity(operands.len() * 2);
        for &op in operands {
            match &self.terms[op.0 as usize] {
                Term::Zero => {}
                Term::Xor(inner) => flat.extend_from_slice(inner),
                _ => flat.push(op),
            }
        }
        flat.sort_unstable();
        // Cancel pairs: x xor x = 0.
        let mut normal: Vec<TermId> = Vec::with_capacity(flat.len());
        for op in flat {
            if normal.last() == Some(&op) {
                normal.pop();
            } else {
                normal.push(op);
            }
        }
        match normal.len() {
            0 => self.zero(),
            1 => normal[0],
            _ => self.intern_node(NodeRef::Xor(&normal), || {
                Term::Xor(normal.as_slice().into())
            }),
        }
    }

    // ----- scratch terms -------------------------------------------------

    /// A point to return to with [`TermStore::truncate`]: the number of
    /// terms interned so far.
    pub fn mark(&self) -> usize {
        self.terms.len()
    }

    /// Forgets every term interned since `mark`. Ids at or above it dangle
    /// afterwards: a caller keeps none of them, except as [`Lifted`] copies
    /// made before, which [`TermStore::land`] interns again. Proof mode
    /// searches each rule in such a scratch area, so that the millions of
    /// renamed and resolved terms a search builds do not stay in the store.
    pub fn truncate(&mut self, mark: usize) {
        if mark >= self.terms.len() {
            return;
        }
        for (i, term) in self.terms.iter().enumerate().skip(mark) {
            let id = TermId(i as u32);
            if let Ok(entry) = self
                .index
                .find_entry(node_hash(NodeRef::of(term)), |t| *t == id)
            {
                entry.remove();
            }
        }
        self.terms.truncate(mark);
        self.depth.truncate(mark);
        self.ground.truncate(mark);
    }

    /// `t` copied out of the store, sharing the terms below `mark` (which
    /// a truncation to `mark` keeps).
    pub fn lift(&self, t: TermId, mark: usize) -> Lifted {
        if (t.0 as usize) < mark {
            return Lifted::Kept(t);
        }
        match self.get(t) {
            Term::Name(n) => Lifted::Name(*n),
            Term::Zero => Lifted::Zero,
            Term::Var(v) => Lifted::Var(*v),
            Term::App(c, args) => {
                Lifted::App(*c, args.iter().map(|a| self.lift(*a, mark)).collect())
            }
            Term::Xor(ops) => Lifted::Xor(ops.iter().map(|a| self.lift(*a, mark)).collect()),
        }
    }

    /// Interns a [`Lifted`] term again (XORs in normal form for the ids
    /// they get now).
    pub fn land(&mut self, l: &Lifted) -> TermId {
        match l {
            Lifted::Kept(t) => *t,
            Lifted::Name(n) => self.intern(Term::Name(*n)),
            Lifted::Zero => self.zero(),
            Lifted::Var(v) => self.var(*v),
            Lifted::App(c, args) => {
                let args: Vec<TermId> = args.iter().map(|a| self.land(a)).collect();
                self.app(*c, &args)
            }
            Lifted::Xor(ops) => {
                let ops: Vec<TermId> = ops.iter().map(|a| self.land(a)).collect();
                self.xor(&ops)
            }
        }
    }

    // ----- access --------------------------------------------------------

    /// The node of a term.
    pub fn get(&self, id: TermId) -> &Term {
        &self.terms[id.0 as usize]
    }

    /// Number of terms interned so far.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// True when nothing is interned.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Depth: names, `0` and variables 0; an application one more than its
    /// deepest argument; an XOR as deep as its deepest operand.
    pub fn depth(&self, id: TermId) -> u16 {
        self.depth[id.0 as usize]
    }

    /// True when the term holds no variable.
    pub fn is_ground(&self, id: TermId) -> bool {
        self.ground[id.0 as usize]
    }

    /// The XOR operands of a term: its operands if it is an XOR, nothing if
    /// it is `0`, else the term itself.
    pub fn xor_operands(&self, id: TermId) -> Vec<TermId> {
        match self.get(id) {
            Term::Xor(ops) => ops.to_vec(),
            Term::Zero => Vec::new(),
            _ => vec![id],
        }
    }

    /// Variables of a term, each once, in order of first occurrence.
    pub fn vars(&self, id: TermId) -> Vec<u32> {
        let mut out = Vec::new();
        self.collect_vars(id, &mut out);
        out
    }

    fn collect_vars(&self, id: TermId, out: &mut Vec<u32>) {
        if self.is_ground(id) {
            return;
        }
        match self.get(id) {
            Term::Var(v) => {
                if !out.contains(v) {
                    out.push(*v)
                }
            }
            Term::App(_, args) | Term::Xor(args) => {
                for a in args.iter() {
                    self.collect_vars(*a, out);
                }
            }
            Term::Name(_) | Term::Zero => {}
        }
    }

    /// Rebuilds `t` bottom-up, replacing each subterm for which `leaf`
    /// gives a term (without descending into it); XOR results are
    /// renormalised.
    pub fn rewrite(
        &mut self,
        t: TermId,
        leaf: &mut dyn FnMut(&mut TermStore, TermId) -> Option<TermId>,
    ) -> TermId {
        if let Some(r) = leaf(self, t) {
            return r;
        }
        match self.get(t).clone() {
            Term::App(c, args) => {
                let args: Vec<TermId> = args.iter().map(|a| self.rewrite(*a, leaf)).collect();
                self.app(c, &args)
            }
            Term::Xor(args) => {
                let args: Vec<TermId> = args.iter().map(|a| self.rewrite(*a, leaf)).collect();
                self.xor(&args)
            }
            _ => t,
        }
    }

    // ----- printing ------------------------------------------------------

    /// Prints a term in function form: `senc(PAN, P)`, tuples `(a, b)`,
    /// XOR `a ⊕ b` with operands in printed order, variables by the given
    /// names (or `?N`).
    pub fn display(&self, id: TermId, var_names: &[String]) -> String {
        let mut out = String::new();
        self.write(id, var_names, &mut out, false, None);
        out
    }

    /// Prints a ground term as [`TermStore::show`] does, except that each
    /// proper subterm with an entry in `names` is printed as that name
    /// (the names `analysis/shared.rs` gives). XOR operands are ordered by
    /// their text as printed here.
    pub fn show_named(&self, id: TermId, names: &HashMap<TermId, String>) -> String {
        let mut out = String::new();
        self.write(id, &[], &mut out, false, Some(names));
        out
    }

    /// Prints a ground term (variables as `?N`).
    pub fn show(&self, id: TermId) -> String {
        self.display(id, &[])
    }

    fn write(
        &self,
        id: TermId,
        vars: &[String],
        out: &mut String,
        in_xor_operand: bool,
        names: Option<&HashMap<TermId, String>>,
    ) {
        match self.get(id) {
            Term::Name(n) => out.push_str(&self.name(*n).text),
            Term::Zero => out.push('0'),
            Term::Var(v) => match vars.get(*v as usize) {
                Some(name) => out.push_str(name),
                None => {
                    let _ = write!(out, "?{v}");
                }
            },
            Term::App(c, args) => {
                let ctor = self.ctor(*c);
                if !ctor.tuple {
                    out.push_str(&ctor.text);
                }
                out.push('(');
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    self.write_child(*a, vars, out, false, names);
                }
                out.push(')');
            }
            Term::Xor(args) => {
                let mut parts: Vec<String> = args
                    .iter()
                    .map(|a| {
                        let mut s = String::new();
                        self.write_child(*a, vars, &mut s, true, names);
                        s
                    })
                    .collect();
                parts.sort();
                if in_xor_operand {
                    out.push('(');
                }
                out.push_str(&parts.join(" ⊕ "));
                if in_xor_operand {
                    out.push(')');
                }
            }
        }
    }

    /// Writes a subterm: its name when `names` has one, else the term.
    fn write_child(
        &self,
        id: TermId,
        vars: &[String],
        out: &mut String,
        in_xor_operand: bool,
        names: Option<&HashMap<TermId, String>>,
    ) {
        match names.and_then(|n| n.get(&id)) {
            Some(name) => out.push_str(name),
            None => self.write(id, vars, out, in_xor_operand, names),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xor_normal_form_cancels_flattens_and_drops_zero() {
        let mut s = TermStore::new();
        let a = s.declare_name("a", NameKind::Public);
        let b = s.declare_name("b", NameKind::Public);
        let (a, b) = (s.name_term(a), s.name_term(b));
        let zero = s.zero();
        assert_eq!(s.xor(&[a, a]), zero);
        assert_eq!(s.xor(&[a, zero]), a);
        let ab = s.xor(&[a, b]);
        assert_eq!(s.xor(&[b, a]), ab);
        assert_eq!(s.xor(&[ab, b]), a);
        assert_eq!(s.xor(&[ab, ab]), zero);
        assert_eq!(s.show(ab), "a ⊕ b");
    }

    #[test]
    fn depth_and_groundness() {
        let mut s = TermStore::new();
        let k = s.declare_name("k", NameKind::Secret);
        let k = s.name_term(k);
        let senc = s.declare_ctor("senc", 2, true);
        let x = s.var(0);
        let t = s.app(senc, &[x, k]);
        assert_eq!(s.depth(t), 1);
        assert!(!s.is_ground(t));
        let u = s.app(senc, &[t, k]);
        assert_eq!(s.depth(u), 2);
        assert_eq!(s.display(u, &["m".into()]), "senc(senc(m, k), k)");
    }
}
