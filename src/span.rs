//! The attacker's XOR reasoning: an incremental GF(2) basis over atoms.
//!
//! Every term that is not an XOR (and not `0`) is an *atom*; a term's
//! vector is the set of its XOR operands. The attacker derives every term
//! whose vector lies in the GF(2) span of the vectors it has, so deciding
//! XOR derivability is Gaussian elimination. [`XorBasis`] keeps the span of
//! the vectors added so far as a fully reduced row-echelon basis (every
//! pivot occurs in its own row only), so that
//!
//! * membership of a vector is one pass over it ([`XorBasis::contains`]);
//! * an atom lies in the span exactly when some row is that atom alone, and
//!   [`XorBasis::add`] returns the atoms that become such unit rows;
//! * with [`XorBasis::with_combinations`], each row also records which of
//!   the added vectors sum to it, so that [`XorBasis::express`] says which
//!   added vectors XOR to a given one (for the attack trace).
//!
//! Vectors are sparse: sorted lists of atom indices.

use rustc_hash::FxHashMap;

use crate::term::TermId;

/// A sparse GF(2) vector: sorted, distinct indices.
type Sparse = Vec<u32>;

/// The symmetric difference of two sorted lists.
fn sum(a: &[u32], b: &[u32]) -> Sparse {
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
    out
}

#[derive(Clone, Debug)]
struct Row {
    vector: Sparse,
    /// Indices of the added vectors that sum to `vector` (when tracked).
    combination: Sparse,
}

/// The span of the vectors added so far, over atoms named by [`TermId`].
#[derive(Clone, Debug, Default)]
pub struct XorBasis {
    atoms: Vec<TermId>,
    index: FxHashMap<TermId, u32>,
    rows: Vec<Row>,
    /// Row of each pivot atom index.
    pivot: FxHashMap<u32, usize>,
    track: bool,
    added: usize,
}

impl XorBasis {
    /// An empty basis.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty basis that records how each row is made of added vectors.
    pub fn with_combinations() -> Self {
        XorBasis {
            track: true,
            ..Self::default()
        }
    }

    fn atom(&mut self, t: TermId) -> u32 {
        if let Some(&i) = self.index.get(&t) {
            return i;
        }
        let i = self.atoms.len() as u32;
        self.atoms.push(t);
        self.index.insert(t, i);
        i
    }

    fn sparse(&mut self, atoms: &[TermId]) -> Sparse {
        let mut v: Sparse = atoms.iter().map(|t| self.atom(*t)).collect();
        v.sort_unstable();
        // x ⊕ x = 0: an atom listed twice cancels.
        let mut out: Sparse = Vec::with_capacity(v.len());
        for i in v {
            if out.last() == Some(&i) {
                out.pop();
            } else {
                out.push(i);
            }
        }
        out
    }

    /// Reduces `v` by the basis: what is left has no pivot atom; with the
    /// combination of rows used.
    fn reduce(&self, v: &[u32]) -> (Sparse, Sparse) {
        let mut out = v.to_vec();
        let mut combination = Vec::new();
        // Rows are fully reduced: adding a row brings in no pivot of
        // another row, so the pivots to clear are those of `v` itself.
        for i in v {
            if let Some(&r) = self.pivot.get(i) {
                out = sum(&out, &self.rows[r].vector);
                if self.track {
                    combination = sum(&combination, &self.rows[r].combination);
                }
            }
        }
        (out, combination)
    }

    /// Adds a vector (the XOR operands of a term; `[t]` for an atom `t`)
    /// and returns the atoms that lie in the span now and did not before.
    pub fn add(&mut self, operands: &[TermId]) -> Vec<TermId> {
        let id = self.added as u32;
        self.added += 1;
        let v = self.sparse(operands);
        let (rest, mut combination) = self.reduce(&v);
        if rest.is_empty() {
            return Vec::new();
        }
        if self.track {
            combination = sum(&combination, &[id]);
        }
        let p = rest[0];
        let mut units = Vec::new();
        for row in self.rows.iter_mut() {
            if row.vector.binary_search(&p).is_ok() {
                row.vector = sum(&row.vector, &rest);
                if self.track {
                    row.combination = sum(&row.combination, &combination);
                }
                if row.vector.len() == 1 {
                    units.push(self.atoms[row.vector[0] as usize]);
                }
            }
        }
        if rest.len() == 1 {
            units.push(self.atoms[p as usize]);
        }
        self.pivot.insert(p, self.rows.len());
        self.rows.push(Row {
            vector: rest,
            combination,
        });
        units
    }

    /// The span's dimension: how many independent vectors were added.
    pub fn rank(&self) -> usize {
        self.rows.len()
    }

    /// True when the XOR of `operands` lies in the span.
    pub fn contains(&self, operands: &[TermId]) -> bool {
        self.express(operands).is_some()
    }

    /// Which added vectors (numbered from 0 in the order of [`Self::add`])
    /// XOR to the XOR of `operands`, if it lies in the span; the numbers
    /// are only meaningful for a basis made [`Self::with_combinations`].
    pub fn express(&self, operands: &[TermId]) -> Option<Vec<u32>> {
        let mut terms = operands.to_vec();
        terms.sort_unstable();
        let mut dedup: Vec<TermId> = Vec::with_capacity(terms.len());
        for t in terms {
            if dedup.last() == Some(&t) {
                dedup.pop();
            } else {
                dedup.push(t);
            }
        }
        // An atom the basis has never seen is in no vector of the span.
        let mut v: Sparse = Vec::with_capacity(dedup.len());
        for t in &dedup {
            v.push(*self.index.get(t)?);
        }
        v.sort_unstable();
        let (rest, combination) = self.reduce(&v);
        rest.is_empty().then_some(combination)
    }

    /// True when the atom lies in the span.
    pub fn has_atom(&self, t: TermId) -> bool {
        self.index
            .get(&t)
            .and_then(|i| self.pivot.get(i))
            .is_some_and(|r| self.rows[*r].vector.len() == 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(i: u32) -> TermId {
        TermId(i)
    }

    #[test]
    fn an_atom_falls_in_the_span_of_a_sum_and_its_other_operand() {
        // s ⊕ P and P give s.
        let mut b = XorBasis::new();
        assert!(b.add(&[t(1), t(2)]).is_empty());
        let units = b.add(&[t(2)]);
        assert_eq!(units.len(), 2);
        assert!(units.contains(&t(1)) && units.contains(&t(2)));
        assert!(b.has_atom(t(1)));
    }

    #[test]
    fn sums_without_atoms() {
        // a ⊕ b and b ⊕ c give a ⊕ c, but no atom.
        let mut b = XorBasis::new();
        assert!(b.add(&[t(1), t(2)]).is_empty());
        assert!(b.add(&[t(2), t(3)]).is_empty());
        assert!(b.contains(&[t(1), t(3)]));
        assert!(!b.contains(&[t(1)]));
        assert!(!b.has_atom(t(2)));
        assert!(b.contains(&[]));
        assert!(!b.contains(&[t(9)]));
        // a dependent vector adds nothing
        assert!(b.add(&[t(1), t(3)]).is_empty());
        // then c gives a and b too
        let mut units = b.add(&[t(3)]);
        units.sort();
        assert_eq!(units, vec![t(1), t(2), t(3)]);
    }

    #[test]
    fn combinations_name_the_added_vectors() {
        let mut b = XorBasis::with_combinations();
        b.add(&[t(1), t(2)]); // 0
        b.add(&[t(5)]); // 1
        b.add(&[t(2), t(3)]); // 2
        b.add(&[t(3)]); // 3
        assert_eq!(b.express(&[t(1)]), Some(vec![0, 2, 3]));
        assert_eq!(b.express(&[t(1), t(3)]), Some(vec![0, 2]));
        assert_eq!(b.express(&[t(5)]), Some(vec![1]));
        assert_eq!(b.express(&[t(4)]), None);
    }

    #[test]
    fn repeated_operands_cancel() {
        let mut b = XorBasis::new();
        assert!(b.add(&[t(1), t(1)]).is_empty());
        assert!(b.contains(&[t(2), t(2)]), "t ⊕ t = 0 is always in the span");
        assert!(!b.has_atom(t(1)));
    }
}
