//! A list of findings capped at [`Limits::max_findings`](crate::Limits::max_findings) that keeps
//! the findings with the lowest offsets, whatever order they are recorded in.
//!
//! Findings reach a scanner in an order that depends on the chunking: within one fed chunk,
//! Hyperscan's matches, the token and shape scanners' and CSV columns' are recorded source by
//! source. A list that kept the first findings recorded would list different ones past the cap
//! for different chunkings of the same body. Keeping the lowest (start, end, kind) makes the
//! listed findings a function of the body alone, with one exception a bounded list cannot avoid:
//! a report that overlaps a finding already left out cannot join it. Overlapping reports are
//! alternative patterns for one value, found within one hold-back window of each other, so
//! this touches at most the finding at the cut.

use crate::types::Finding;

/// Findings sorted by (start, end, kind), at most `cap` of them.
#[derive(Debug, Default)]
pub(crate) struct Capped {
    items: Vec<Finding>,
    cap: usize,
    /// The largest `end` ever listed. Once the list is full, a finding that starts at or after
    /// it can neither join a listed finding nor sort before the last one.
    reach: u64,
    /// The longest finding ever listed: a listed finding that starts more than this before
    /// another cannot overlap it.
    widest: u64,
}

impl Capped {
    /// A list of at most `cap` findings (at least one, so that a full list still says PHI).
    pub(crate) fn new(cap: usize) -> Capped {
        Capped {
            cap: cap.max(1),
            ..Capped::default()
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn items(&self) -> &[Finding] {
        &self.items
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<Finding>()
    }

    /// Whether a finding that starts at or after `start` would be left out: the list is full
    /// and the finding can join none of its entries. A caller can skip validating it.
    pub(crate) fn full_from(&self, start: u64) -> bool {
        self.items.len() >= self.cap && start >= self.reach
    }

    /// Lists `f`. Overlapping findings of one kind (alternative patterns for one value) become
    /// one, whatever order they come in; past the cap the highest finding is left out.
    pub(crate) fn record(&mut self, mut f: Finding) {
        // Join every listed finding of the kind that overlaps: they all sort before f.end.
        while let Some(i) = self.overlapping(&f) {
            let x = self.items.remove(i);
            f.start = f.start.min(x.start);
            f.end = f.end.max(x.end);
        }
        let pos = self.items.partition_point(|x| order(x) < order(&f));
        if self.items.len() >= self.cap {
            if pos == self.items.len() {
                return;
            }
            self.items.pop();
        }
        self.reach = self.reach.max(f.end);
        self.widest = self.widest.max(f.end - f.start);
        self.items.insert(pos, f);
    }

    /// A listed finding of `f`'s kind overlapping it. Listed findings are sorted by start, so
    /// the search goes back from the last one that starts before `f.end` to the first that
    /// could still reach `f.start`.
    fn overlapping(&self, f: &Finding) -> Option<usize> {
        let below = self.items.partition_point(|x| x.start < f.end);
        for i in (0..below).rev() {
            let x = &self.items[i];
            if x.start + self.widest <= f.start {
                return None;
            }
            if x.kind == f.kind && f.start < x.end {
                return Some(i);
            }
        }
        None
    }
}

/// The list's order, that of [`Scanner::findings`](crate::Scanner::findings).
fn order(f: &Finding) -> (u64, u64, crate::Kind) {
    (f.start, f.end, f.kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    fn f(kind: Kind, start: u64, end: u64) -> Finding {
        Finding { kind, start, end }
    }

    fn listed(cap: usize, order: &[Finding]) -> Vec<Finding> {
        let mut c = Capped::new(cap);
        for x in order {
            c.record(*x);
        }
        c.items().to_vec()
    }

    #[test]
    fn keeps_the_lowest_findings_in_any_order() {
        let all: Vec<Finding> = (0..40u64)
            .map(|i| f(Kind::Ssn, i * 20, i * 20 + 11))
            .collect();
        let mut rng = crate::testing::Rng::new(7);
        for cap in [1, 5, 39, 40, 41] {
            let want: Vec<Finding> = all.iter().copied().take(cap).collect();
            for _ in 0..50 {
                let mut order = all.clone();
                for i in (1..order.len()).rev() {
                    order.swap(i, rng.below(i as u64 + 1) as usize);
                }
                assert_eq!(listed(cap, &order), want, "cap {cap}");
            }
        }
    }

    #[test]
    fn overlapping_reports_of_a_kind_join_in_any_order() {
        // [0,10) and [12,20) meet only through [8,14); a card beside them stays apart.
        let parts = [
            f(Kind::Ssn, 0, 10),
            f(Kind::Ssn, 12, 20),
            f(Kind::Ssn, 8, 14),
            f(Kind::CreditCard, 5, 21),
        ];
        let want = vec![f(Kind::Ssn, 0, 20), f(Kind::CreditCard, 5, 21)];
        for order in [[0, 1, 2, 3], [2, 0, 1, 3], [1, 3, 2, 0], [3, 2, 1, 0]] {
            let o: Vec<Finding> = order.iter().map(|&i| parts[i]).collect();
            assert_eq!(listed(10, &o), want, "{order:?}");
        }
    }

    #[test]
    fn a_long_finding_joins_a_report_past_many_findings_inside_it() {
        // A patient resource spanning twenty SSNs, then a second report of the resource.
        let mut order: Vec<Finding> = vec![f(Kind::FhirPatient, 0, 1000)];
        order.extend((0..20).map(|i| f(Kind::Ssn, 10 + i * 40, 21 + i * 40)));
        order.push(f(Kind::FhirPatient, 900, 1100));
        let got = listed(100, &order);
        assert_eq!(got.len(), 21, "{got:?}");
        assert_eq!(got[0], f(Kind::FhirPatient, 0, 1100));
        order.rotate_right(1);
        assert_eq!(listed(100, &order), got);
    }

    #[test]
    fn a_full_list_still_joins_a_later_report_to_a_listed_finding() {
        let mut c = Capped::new(2);
        c.record(f(Kind::Ssn, 0, 11));
        c.record(f(Kind::Mrn, 20, 28));
        assert!(!c.full_from(27), "a report from 27 could join the MRN");
        c.record(f(Kind::Mrn, 22, 30));
        assert_eq!(c.items(), &[f(Kind::Ssn, 0, 11), f(Kind::Mrn, 20, 30)]);
        assert!(c.full_from(30));
        c.record(f(Kind::Ssn, 40, 51));
        assert_eq!(c.items(), &[f(Kind::Ssn, 0, 11), f(Kind::Mrn, 20, 30)]);
    }
}
