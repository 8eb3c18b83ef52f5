//! Linear algebra over GF(2): the attacker's XOR reasoning.
//!
//! Modulo the XOR theory (associative, commutative, `x ⊕ x = 0`,
//! `x ⊕ 0 = x`), a term is a set of *atoms*, the operands of its XOR normal
//! form: every term that is not an XOR is an atom, and a term is the sum of
//! its atoms. So terms are vectors over GF(2) indexed by atoms, and what the
//! attacker derives by XOR from terms `t1..tn` is exactly their span.
//!
//! [`Basis`] keeps a set of vectors in reduced row echelon form, so that
//! each row has one *pivot* atom that no other row holds. It answers, for
//! the vectors inserted so far: is a vector in their span
//! ([`Basis::contains`]), what is left of a vector after removing its part
//! in the span ([`Basis::reduce`]: no pivot atom remains), which single atoms
//! lie in the span ([`Basis::atoms_in_span`]), and which inserted vectors
//! sum to a given one ([`Basis::combination`]). Atoms are plain `u32` ids
//! (apisat uses `TermId`s); vectors are sparse, sorted lists of atoms.
//!
//! Costs: reducing a vector touches one row per pivot atom it holds;
//! inserting one also scans every row once (to clear its new pivot).

use rustc_hash::FxHashMap as HashMap;

/// An atom: a term that is not an XOR, by id.
pub type Atom = u32;

/// A vector over GF(2): the atoms with coefficient 1, sorted, each once.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vector(Vec<Atom>);

impl Vector {
    /// The zero vector.
    pub fn zero() -> Self {
        Vector(Vec::new())
    }

    /// The sum of the given atoms: an atom listed twice cancels.
    pub fn from_atoms(atoms: impl IntoIterator<Item = Atom>) -> Self {
        let mut v: Vec<Atom> = atoms.into_iter().collect();
        v.sort_unstable();
        let mut out: Vec<Atom> = Vec::with_capacity(v.len());
        for a in v {
            if out.last() == Some(&a) {
                out.pop();
            } else {
                out.push(a);
            }
        }
        Vector(out)
    }

    /// The vector of one atom.
    pub fn unit(a: Atom) -> Self {
        Vector(vec![a])
    }

    /// The atoms with coefficient 1, in increasing order.
    pub fn atoms(&self) -> &[Atom] {
        &self.0
    }

    /// True for the zero vector.
    pub fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    /// True when the atom has coefficient 1.
    pub fn has(&self, a: Atom) -> bool {
        self.0.binary_search(&a).is_ok()
    }

    /// The largest atom, `None` for zero.
    fn leading(&self) -> Option<Atom> {
        self.0.last().copied()
    }

    /// `self ⊕= other` (symmetric difference of sorted lists).
    pub fn add(&mut self, other: &Vector) {
        if other.0.is_empty() {
            return;
        }
        let (a, b) = (&self.0, &other.0);
        let mut out = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            match a[i].cmp(&b[j]) {
                std::cmp::Ordering::Less => {
                    out.push(a[i]);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    out.push(b[j]);
                    j += 1;
                }
                std::cmp::Ordering::Equal => {
                    i += 1;
                    j += 1;
                }
            }
        }
        out.extend_from_slice(&a[i..]);
        out.extend_from_slice(&b[j..]);
        self.0 = out;
    }
}

/// One row of the echelon form: a vector, its pivot (largest atom, held by
/// no other row), and which inserted vectors it is the sum of.
#[derive(Clone, Debug)]
struct Row {
    vector: Vector,
    pivot: Atom,
    /// Ids of inserted generators, as a vector over generator ids.
    combo: Vector,
}

/// An incrementally built basis of a span over GF(2), in reduced row
/// echelon form.
#[derive(Clone, Debug, Default)]
pub struct Basis {
    rows: Vec<Row>,
    by_pivot: HashMap<Atom, usize>,
    generators: u32,
}

impl Basis {
    /// An empty basis: its span is `{0}`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The dimension of the span.
    pub fn rank(&self) -> usize {
        self.rows.len()
    }

    /// True when the span is `{0}`.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Adds `v` to the generators. Returns its generator id when it was
    /// independent of the earlier ones (ids count independent insertions
    /// from 0), `None` when it already lay in their span (nothing changes).
    pub fn insert(&mut self, v: &Vector) -> Option<u32> {
        self.insert_with_units(v).0
    }

    /// Like [`Basis::insert`], and also returns the atoms that lie in the
    /// span now and did not before (the rows this insertion made units), in
    /// increasing order. The bounded engine obtains those atoms.
    pub fn insert_with_units(&mut self, v: &Vector) -> (Option<u32>, Vec<Atom>) {
        let (r, mut combo) = self.reduce_with_combo(v);
        let Some(pivot) = r.leading() else {
            return (None, Vec::new());
        };
        let id = self.generators;
        self.generators += 1;
        combo.add(&Vector::unit(id));
        let mut units = Vec::new();
        // Clear the new pivot from every other row: `r` holds no old pivot,
        // so the rows keep theirs and stay reduced.
        for row in &mut self.rows {
            if row.vector.has(pivot) {
                row.vector.add(&r);
                row.combo.add(&combo);
                if row.vector.atoms().len() == 1 {
                    units.push(row.pivot);
                }
            }
        }
        if r.atoms().len() == 1 {
            units.push(pivot);
        }
        units.sort_unstable();
        self.by_pivot.insert(pivot, self.rows.len());
        self.rows.push(Row {
            vector: r,
            pivot,
            combo,
        });
        (Some(id), units)
    }

    /// What is left of `v` after removing its part in the span: zero
    /// exactly when `v` is in the span; it holds no pivot atom, and
    /// `v ⊕ reduce(v)` is in the span.
    pub fn reduce(&self, v: &Vector) -> Vector {
        self.reduce_with_combo(v).0
    }

    /// The residual and the generators whose sum is `v ⊕ residual`.
    fn reduce_with_combo(&self, v: &Vector) -> (Vector, Vector) {
        let mut r = v.clone();
        let mut combo = Vector::zero();
        // Rows hold no pivot but their own, so one pass over v's atoms
        // removes every pivot.
        for a in v.atoms() {
            if let Some(&i) = self.by_pivot.get(a) {
                r.add(&self.rows[i].vector);
                combo.add(&self.rows[i].combo);
            }
        }
        (r, combo)
    }

    /// True when `v` is in the span.
    pub fn contains(&self, v: &Vector) -> bool {
        self.reduce(v).is_zero()
    }

    /// True when the single atom `a` is in the span.
    pub fn contains_atom(&self, a: Atom) -> bool {
        self.by_pivot
            .get(&a)
            .is_some_and(|&i| self.rows[i].vector.atoms() == [a])
    }

    /// Every atom whose unit vector lies in the span, in increasing order.
    /// (In reduced echelon form a unit vector is in the span exactly when
    /// it is a row.)
    pub fn atoms_in_span(&self) -> Vec<Atom> {
        let mut out: Vec<Atom> = self
            .rows
            .iter()
            .filter(|r| r.vector.atoms().len() == 1)
            .map(|r| r.pivot)
            .collect();
        out.sort_unstable();
        out
    }

    /// Every atom some row holds (the atoms the span can say anything
    /// about), in increasing order.
    pub fn atoms(&self) -> Vec<Atom> {
        let mut out: Vec<Atom> = self
            .rows
            .iter()
            .flat_map(|r| r.vector.atoms().iter().copied())
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The generator ids (as [`Basis::insert`] returned them) whose sum is
    /// `v`, or `None` when `v` is not in the span.
    pub fn combination(&self, v: &Vector) -> Option<Vec<u32>> {
        let (r, combo) = self.reduce_with_combo(v);
        r.is_zero().then(|| combo.atoms().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(atoms: &[Atom]) -> Vector {
        Vector::from_atoms(atoms.iter().copied())
    }

    #[test]
    fn insertions_report_the_atoms_they_put_in_the_span() {
        // a ⊕ b, b ⊕ c: no atom; then c gives a, b and c at once.
        let mut b = Basis::new();
        assert_eq!(b.insert_with_units(&v(&[1, 2])), (Some(0), vec![]));
        assert_eq!(b.insert_with_units(&v(&[2, 3])), (Some(1), vec![]));
        assert!(b.contains(&v(&[1, 3])));
        assert_eq!(b.insert_with_units(&v(&[1, 3])), (None, vec![]));
        assert_eq!(b.insert_with_units(&v(&[3])), (Some(2), vec![1, 2, 3]));
        assert_eq!(b.combination(&v(&[1])), Some(vec![0, 1, 2]));
    }

    #[test]
    fn pairs_cancel_in_vectors() {
        assert_eq!(v(&[3, 1, 3, 2]), v(&[1, 2]));
        let mut a = v(&[1, 2, 5]);
        a.add(&v(&[2, 7]));
        assert_eq!(a, v(&[1, 5, 7]));
    }

    #[test]
    fn span_membership_and_residuals() {
        // s ⊕ P and P give s; K ⊕ s stays partly unknown.
        let (s, p, k) = (1, 2, 3);
        let mut b = Basis::new();
        assert_eq!(b.insert(&v(&[s, p])), Some(0));
        assert!(!b.contains_atom(s));
        assert_eq!(b.insert(&v(&[p])), Some(1));
        assert!(b.contains_atom(s));
        assert!(b.contains(&v(&[s, p])));
        assert_eq!(b.insert(&v(&[s])), None, "already in the span");
        assert_eq!(b.atoms_in_span(), vec![s, p]);
        let r = b.reduce(&v(&[k, s]));
        assert_eq!(r, v(&[k]));
        assert!(!b.contains(&v(&[k, s])));
        assert_eq!(b.rank(), 2);
    }

    #[test]
    fn combinations_express_vectors_by_generators() {
        let mut b = Basis::new();
        let g0 = b.insert(&v(&[1, 2])).unwrap();
        let g1 = b.insert(&v(&[2, 3])).unwrap();
        let g2 = b.insert(&v(&[3, 4])).unwrap();
        assert_eq!(b.combination(&v(&[1, 4])), Some(vec![g0, g1, g2]));
        assert_eq!(b.combination(&v(&[1, 3])), Some(vec![g0, g1]));
        assert_eq!(b.combination(&v(&[1])), None);
        assert_eq!(b.combination(&Vector::zero()), Some(vec![]));
        // Only atoms 1..4 and chains: no single atom yet.
        assert!(b.atoms_in_span().is_empty());
        b.insert(&v(&[4])).unwrap();
        assert_eq!(b.atoms_in_span(), vec![1, 2, 3, 4]);
    }

    #[test]
    fn residuals_never_hold_a_pivot() {
        let mut b = Basis::new();
        for g in [&[5, 9][..], &[2, 9], &[2, 3, 5], &[7]] {
            b.insert(&v(g));
        }
        let pivots: Vec<Atom> = b.rows.iter().map(|r| r.pivot).collect();
        for probe in [&[9][..], &[2, 3], &[5, 7, 8], &[1]] {
            let r = b.reduce(&v(probe));
            assert!(r.atoms().iter().all(|a| !pivots.contains(a)), "{probe:?}");
            // probe ⊕ residual is in the span.
            let mut d = v(probe);
            d.add(&r);
            assert!(b.contains(&d));
        }
    }
}
