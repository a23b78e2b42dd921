//! The verdict of a chain, and of a hook, as packet sets: which packets it accepts, which it drops, and which
//! rule accepted which.
//!
//! Semantics (first match wins, as the kernel does):
//! - a rule's match is the conjunction of its matches, a negated match the complement of its test;
//! - [`Action::Accept`] accepts and [`Action::Drop`], [`Action::Reject`] drop what the rule matches among the
//!   packets still undecided; [`Action::Continue`] decides nothing;
//! - [`Action::Jump`] evaluates the target on what the rule matches: what the target accepts or drops is
//!   decided, what it returns (by [`Action::Return`] or by falling off its end) goes on after the jump;
//! - [`Action::Goto`] is a jump whose returns go back to the caller of the current chain;
//! - a return in a base chain, or its end, applies its policy;
//! - [`Action::Dnat`], [`Action::Redirect`] and [`Action::Snat`] end the chain like an accept: this is the
//!   filtering view only; the address rewriting is the topology stage's, which runs nat chains separately;
//! - a loop between chains, or a jump to a chain the table lacks, is an error, not a guess.
//!
//! What the model does not know ([`Test::Unknown`](crate::ir::Test::Unknown), [`Action::Unknown`]) is
//! over-approximated by an [`Approx`] mode, and every rule so treated is listed in
//! [`ChainVerdict::approximated`]. The evaluation is a may-analysis: it follows, for every packet, every path an
//! unknown test could send it on, and collects the packets that *may* be accepted and those that *may* be
//! dropped; [`Approx::Permit`] keeps the former as the accepted set (so "nothing accepted" is a proof),
//! [`Approx::Deny`] the latter as the dropped set. Without unknowns the two sets partition the space and both
//! modes give the same, exact, verdict.

use std::collections::HashMap;

use biodivine_lib_bdd::Bdd;

use crate::ir::{Action, Chain, ChainType, Family, Hook, Origin, Policy, Rule, Ruleset, Table};
use crate::space::{Packet, Space, intersects};

/// How to read what the model does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Approx {
    /// Accept whatever may be accepted: an unknown test matches for an accepting rule and not for a dropping
    /// one (for a jump, goto or return both ways are followed), an unknown action accepts. Used to prove
    /// isolation.
    Permit,
    /// Drop whatever may be dropped (the dual). Used to prove that a path is open.
    Deny,
}

/// What a chain does with the valid packets: `accept` and `drop` partition [`Space::valid`].
#[derive(Debug, Clone)]
pub struct ChainVerdict {
    pub accept: Bdd,
    pub drop: Bdd,
    /// The rules (or, for a policy, the chain) that accepted which packets, for counterexamples. Under an
    /// approximation the sets may overlap.
    pub accepted_by: Vec<(Origin, Bdd)>,
    /// The rules whose treatment was approximated, in evaluation order, each once.
    pub approximated: Vec<Origin>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerdictError {
    #[error("table {table} has no chain {chain}")]
    NoSuchChain { table: String, chain: String },
    #[error("chain {chain} of table {table} is not a base chain: it has no policy to end with")]
    NotABaseChain { table: String, chain: String },
    #[error("{origin}: chain {from} of table {table} jumps to {target}, which the table lacks")]
    MissingTarget {
        table: String,
        from: String,
        target: String,
        origin: Origin,
    },
    #[error("chains of table {table} call each other in a loop: {}", chains.join(" → "))]
    Loop { table: String, chains: Vec<String> },
}

/// What a chain does with every valid packet, before its caller applies it: per packet the evaluation is
/// independent of the others, so one evaluation over the whole space serves every call (restricted to what
/// the call passes).
#[derive(Debug, Clone)]
struct Outcome {
    /// May be accepted.
    accept: Bdd,
    /// May be dropped.
    drop: Bdd,
    /// May come back to the caller.
    ret: Bdd,
    accepted_by: Vec<(Origin, Bdd)>,
}

struct Eval<'a> {
    space: &'a Space,
    table: &'a Table,
    done: HashMap<String, Outcome>,
    stack: Vec<String>,
    approximated: Vec<Origin>,
    /// `Some` when the rules that can never match are wanted ([`table_verdicts`]).
    shadowed: Option<Vec<Origin>>,
    /// Whether to keep which rule accepted which packets ([`ChainVerdict::accepted_by`]): one more
    /// operation on a large set per accepting rule.
    detail: bool,
    /// Which of the may-accept and may-drop sets the reading needs ([`settle`] uses only one): the
    /// other is not built.
    approx: Approx,
}

impl Eval<'_> {
    fn note(&mut self, origin: &Origin) {
        if !self.approximated.contains(origin) {
            self.approximated.push(origin.clone());
        }
    }

    /// The packets the rule may match (`hi`) and must match (`lo`), and whether an unknown test made them
    /// differ.
    fn bounds(&self, rule: &Rule) -> (Bdd, Bdd, bool) {
        let mut hi = self.space.all();
        let mut unknown = false;
        for m in &rule.matches {
            match self.space.test(&m.test) {
                Some(set) => {
                    let set = if m.negated { set.not() } else { set };
                    hi = hi.and(&set);
                }
                None => unknown = true,
            }
        }
        let lo = if unknown {
            self.space.none()
        } else {
            hi.clone()
        };
        (lo, hi, unknown)
    }

    fn called(&mut self, from: &Chain, rule: &Rule, target: &str) -> Result<Outcome, VerdictError> {
        if let Some(i) = self.stack.iter().position(|c| c == target) {
            let mut chains = self.stack[i..].to_vec();
            chains.push(target.to_owned());
            return Err(VerdictError::Loop {
                table: self.table.name.clone(),
                chains,
            });
        }
        if let Some(o) = self.done.get(target) {
            return Ok(o.clone());
        }
        let chain = self
            .table
            .chain(target)
            .ok_or_else(|| VerdictError::MissingTarget {
                table: self.table.name.clone(),
                from: from.name.clone(),
                target: target.to_owned(),
                origin: rule.origin.clone(),
            })?;
        let outcome = self.chain(chain)?;
        self.done.insert(target.to_owned(), outcome.clone());
        Ok(outcome)
    }

    /// Evaluates a chain over every valid packet.
    ///
    /// Rules are taken in blocks: within a block, first-match order is resolved on small diagrams that
    /// start from "every packet" (each rule's contribution is the packets entering the block intersected
    /// with a set that depends only on the block's rules), and only then is the block applied to what is
    /// still undecided. The sets of undecided and accepted packets grow with the chain, and every operation
    /// on them copies them; applying them once per block instead of once per rule makes a long chain cost
    /// a number of large operations proportional to its blocks, not its rules.
    fn chain(&mut self, chain: &Chain) -> Result<Outcome, VerdictError> {
        self.stack.push(chain.name.clone());
        let space = self.space;
        let mut remaining = space.valid().clone();
        let mut out = Outcome {
            accept: space.none(),
            drop: space.none(),
            ret: space.none(),
            accepted_by: Vec::new(),
        };
        let mut block = Block::new(space);
        let mut run = Run::new(space);
        for rule in &chain.rules {
            let (lo, hi, unknown) = self.bounds(rule);
            if unknown && !matches!(rule.action, Action::Continue) {
                self.note(&rule.origin);
            }
            let simple = !unknown
                && matches!(
                    rule.action,
                    Action::Accept
                        | Action::Dnat { .. }
                        | Action::Redirect { .. }
                        | Action::Snat
                        | Action::Drop
                        | Action::Reject
                        | Action::Return
                        | Action::Continue
                        | Action::Jump { .. }
                        | Action::Goto { .. }
                );
            if simple {
                let sub = match &rule.action {
                    Action::Jump { chain: target } | Action::Goto { chain: target } => {
                        Some(self.called(chain, rule, target)?)
                    }
                    _ => None,
                };
                let may = run.add(self, rule, hi, sub.as_ref());
                if let Some(shadowed) = &mut self.shadowed
                    && !intersects(&remaining, &may)
                {
                    shadowed.push(rule.origin.clone());
                }
                if run.rules >= RUN_RULES {
                    run.apply(space, &mut remaining, &mut out);
                }
                continue;
            }
            // Anything else is a block of its own, after the run before it.
            run.apply(space, &mut remaining, &mut out);
            let may = block.open.and(&hi);
            let may_not = block.open.and_not(&lo);
            if let Some(shadowed) = &mut self.shadowed
                && !intersects(&remaining, &may)
            {
                shadowed.push(rule.origin.clone());
            }
            match &rule.action {
                Action::Accept | Action::Dnat { .. } | Action::Redirect { .. } | Action::Snat => {
                    if self.approx == Approx::Permit {
                        block.accept = block.accept.or(&may);
                    }
                    if self.detail && !may.is_false() {
                        block.accepted_by.push((rule.origin.clone(), may));
                    }
                    block.open = may_not;
                }
                Action::Drop | Action::Reject => {
                    if self.approx == Approx::Deny {
                        block.drop = block.drop.or(&may);
                    }
                    block.open = may_not;
                }
                Action::Continue => {}
                Action::Return => {
                    block.ret = block.ret.or(&may);
                    block.open = may_not;
                }
                Action::Unknown { .. } => {
                    // May accept, may drop, may go on.
                    self.note(&rule.origin);
                    if self.approx == Approx::Permit {
                        block.accept = block.accept.or(&may);
                    }
                    if self.approx == Approx::Deny {
                        block.drop = block.drop.or(&may);
                    }
                    if self.detail && !may.is_false() {
                        block.accepted_by.push((rule.origin.clone(), may));
                    }
                }
                Action::Jump { chain: target } | Action::Goto { chain: target } => {
                    let sub = self.called(chain, rule, target)?;
                    if self.approx == Approx::Permit {
                        block.accept = block.accept.or(&sub.accept.and(&may));
                    } else {
                        block.drop = block.drop.or(&sub.drop.and(&may));
                    }
                    for (origin, set) in sub.accepted_by.iter().filter(|_| self.detail) {
                        let set = set.and(&may);
                        if !set.is_false() {
                            block.accepted_by.push((origin.clone(), set));
                        }
                    }
                    let back = sub.ret.and(&may);
                    if matches!(rule.action, Action::Jump { .. }) {
                        block.open = may_not.or(&back);
                    } else {
                        block.ret = block.ret.or(&back);
                        block.open = may_not;
                    }
                }
            }
            block.rules += 1;
            block.apply(space, self.approx, &mut remaining, &mut out);
        }
        run.apply(space, &mut remaining, &mut out);
        out.ret = out.ret.or(&remaining);
        self.stack.pop();
        Ok(out)
    }
}

/// At most this many rules in a run before it is applied.
const RUN_RULES: usize = 24;

/// Consecutive rules whose matches the model knows and whose actions end the chain or nothing (accept,
/// drop, reject, return, NAT, continue). Within a run a rule's first-match share is its own match minus the
/// earlier rules' matches, computed only when it overlaps them at all; the sets are joined once, when the
/// run is applied.
struct Run {
    /// Union of the matches of the run's deciding rules so far: a joined part, and the latest matches
    /// not yet joined into it (joining every rule's match at once would copy the union for every rule).
    decided: Bdd,
    pending: Vec<Bdd>,
    accept: Vec<Bdd>,
    drop: Vec<Bdd>,
    ret: Vec<Bdd>,
    /// What the run decided other than by accepting (drops and returns), kept so that, when it is the
    /// smaller part, the accepted part can be had as the decided part minus it.
    other: Vec<Bdd>,
    /// Whether a jump or goto is in the run (its target's sets may overlap, so the subtraction above
    /// would not be exact).
    jumps: bool,
    accepted_by: Vec<(Origin, Bdd)>,
    rules: usize,
}

impl Run {
    fn new(space: &Space) -> Self {
        Run {
            decided: space.none(),
            pending: Vec::new(),
            accept: Vec::new(),
            drop: Vec::new(),
            ret: Vec::new(),
            other: Vec::new(),
            jumps: false,
            accepted_by: Vec::new(),
            rules: 0,
        }
    }

    /// Adds a rule (its match `hi`; for a jump or goto, what its target does), returning what it may match
    /// among the packets entering the run.
    fn add(&mut self, eval: &Eval<'_>, rule: &Rule, hi: Bdd, sub: Option<&Outcome>) -> Bdd {
        self.rules += 1;
        let mut may = hi;
        for earlier in std::iter::once(&self.decided).chain(self.pending.iter()) {
            if intersects(earlier, &may) {
                may = may.and_not(earlier);
            }
        }
        let decides = match &rule.action {
            Action::Accept | Action::Dnat { .. } | Action::Redirect { .. } | Action::Snat => {
                if eval.approx == Approx::Permit {
                    self.accept.push(may.clone());
                }
                if eval.detail && !may.is_false() {
                    self.accepted_by.push((rule.origin.clone(), may.clone()));
                }
                true
            }
            Action::Drop | Action::Reject => {
                if eval.approx == Approx::Deny {
                    self.drop.push(may.clone());
                } else {
                    self.other.push(may.clone());
                }
                true
            }
            Action::Return => {
                self.ret.push(may.clone());
                self.other.push(may.clone());
                true
            }
            Action::Jump { .. } | Action::Goto { .. } => {
                self.jumps = true;
                if let Some(sub) = sub {
                    if eval.approx == Approx::Permit {
                        self.accept.push(sub.accept.and(&may));
                    } else {
                        self.drop.push(sub.drop.and(&may));
                    }
                    for (origin, set) in sub.accepted_by.iter().filter(|_| eval.detail) {
                        let set = set.and(&may);
                        if !set.is_false() {
                            self.accepted_by.push((origin.clone(), set));
                        }
                    }
                    let back = sub.ret.and(&may);
                    if matches!(rule.action, Action::Goto { .. }) {
                        // What the target returns goes back to this chain's caller.
                        self.ret.push(back);
                    } else if !may.is_false() {
                        // What the target returns goes on to the next rule: only the rest is decided.
                        let decided = may.and_not(&back);
                        if !decided.is_false() {
                            self.pending.push(decided);
                        }
                        return may;
                    }
                }
                true
            }
            _ => false,
        };
        if decides && !may.is_false() {
            self.pending.push(may.clone());
            if self.pending.len() >= PENDING {
                let joined = union(eval.space, std::mem::take(&mut self.pending));
                self.decided = self.decided.or(&joined);
            }
        }
        may
    }

    /// Applies the run to the packets that enter it and starts a new one.
    fn apply(&mut self, space: &Space, remaining: &mut Bdd, out: &mut Outcome) {
        if self.rules == 0 {
            return;
        }
        let run = std::mem::replace(self, Run::new(space));
        let decided = run.decided.or(&union(space, run.pending));
        // Within a run without jumps the rules' shares are disjoint: what it accepts is what it decided
        // minus what it dropped or returned, cheaper to join when drops are the fewer.
        let accepted = if !run.jumps && !run.accept.is_empty() && run.other.len() < run.accept.len()
        {
            decided.and_not(&union(space, run.other))
        } else {
            union(space, run.accept)
        };
        if !accepted.is_false() {
            out.accept = out.accept.or(&remaining.and(&accepted));
        }
        for (sets, into) in [(run.drop, &mut out.drop), (run.ret, &mut out.ret)] {
            if !sets.is_empty() {
                *into = into.or(&remaining.and(&union(space, sets)));
            }
        }
        for (origin, set) in run.accepted_by {
            let set = remaining.and(&set);
            if !set.is_false() {
                out.accepted_by.push((origin, set));
            }
        }
        *remaining = remaining.and_not(&decided);
    }
}

/// How many matches a run keeps apart before joining them into its union.
const PENDING: usize = 16;

/// The union of many sets, joined pairwise so that no set is copied more than a logarithmic number of times.
fn union(space: &Space, mut sets: Vec<Bdd>) -> Bdd {
    while sets.len() > 1 {
        let mut next = Vec::with_capacity(sets.len().div_ceil(2));
        let mut it = sets.into_iter();
        while let Some(a) = it.next() {
            next.push(match it.next() {
                Some(b) => a.or(&b),
                None => a,
            });
        }
        sets = next;
    }
    sets.pop().unwrap_or_else(|| space.none())
}

/// The summary of consecutive rules for the packets that enter them: each field is what the block does
/// with the entering packets that are in the set.
struct Block {
    accept: Bdd,
    drop: Bdd,
    ret: Bdd,
    /// Still undecided after the block.
    open: Bdd,
    accepted_by: Vec<(Origin, Bdd)>,
    rules: usize,
}

impl Block {
    fn new(space: &Space) -> Self {
        Block {
            accept: space.none(),
            drop: space.none(),
            ret: space.none(),
            open: space.all(),
            accepted_by: Vec::new(),
            rules: 0,
        }
    }

    /// Applies the block to the packets that enter it and starts a new one.
    fn apply(&mut self, space: &Space, approx: Approx, remaining: &mut Bdd, out: &mut Outcome) {
        if self.rules == 0 {
            return;
        }
        let block = std::mem::replace(self, Block::new(space));
        // Under a reading that uses only one of the two sets, the other is never built.
        if approx == Approx::Permit {
            out.accept = out.accept.or(&remaining.and(&block.accept));
        } else {
            out.drop = out.drop.or(&remaining.and(&block.drop));
        }
        out.ret = out.ret.or(&remaining.and(&block.ret));
        for (origin, set) in block.accepted_by {
            let set = remaining.and(&set);
            if !set.is_false() {
                out.accepted_by.push((origin, set));
            }
        }
        *remaining = remaining.and(&block.open);
    }
}

fn settle(space: &Space, accept: &Bdd, drop: &Bdd, approx: Approx) -> (Bdd, Bdd) {
    match approx {
        Approx::Permit => (accept.clone(), space.valid().and_not(accept)),
        Approx::Deny => (space.valid().and_not(drop), drop.clone()),
    }
}

/// The verdict of base chain `chain_name` of `table` over every valid packet.
pub fn chain_verdict(
    space: &Space,
    table: &Table,
    chain_name: &str,
    approx: Approx,
) -> Result<ChainVerdict, VerdictError> {
    let chain = table
        .chain(chain_name)
        .ok_or_else(|| VerdictError::NoSuchChain {
            table: table.name.clone(),
            chain: chain_name.to_owned(),
        })?;
    let base = chain.base.ok_or_else(|| VerdictError::NotABaseChain {
        table: table.name.clone(),
        chain: chain_name.to_owned(),
    })?;
    let mut eval = Eval::new(space, table, approx, true, false);
    let out = eval.chain(chain)?;
    Ok(settle_base(
        space,
        chain,
        base.policy,
        out,
        approx,
        eval.approximated,
    ))
}

impl<'a> Eval<'a> {
    fn new(
        space: &'a Space,
        table: &'a Table,
        approx: Approx,
        detail: bool,
        shadowed: bool,
    ) -> Self {
        Eval {
            space,
            table,
            done: HashMap::new(),
            stack: Vec::new(),
            approximated: Vec::new(),
            shadowed: shadowed.then(Vec::new),
            detail,
            approx,
        }
    }
}

/// A base chain's outcome with its policy applied, read under the approximation.
fn settle_base(
    space: &Space,
    chain: &Chain,
    policy: Policy,
    mut out: Outcome,
    approx: Approx,
    approximated: Vec<Origin>,
) -> ChainVerdict {
    match policy {
        Policy::Accept => {
            out.accept = out.accept.or(&out.ret);
            if !out.ret.is_false() {
                out.accepted_by
                    .push((chain.origin.clone(), out.ret.clone()));
            }
        }
        Policy::Drop => out.drop = out.drop.or(&out.ret),
    }
    let (accept, drop) = settle(space, &out.accept, &out.drop, approx);
    let accepted_by = out
        .accepted_by
        .into_iter()
        .map(|(o, set)| (o, set.and(&accept)))
        .filter(|(_, set)| !set.is_false())
        .collect();
    ChainVerdict {
        accept,
        drop,
        accepted_by,
        approximated,
    }
}

/// Every base chain of a table, and the table's rules that can never match, from one evaluation of each
/// chain.
#[derive(Debug, Clone)]
pub struct TableVerdicts {
    /// Per base chain, in table order. [`ChainVerdict::accepted_by`] is kept only for nat chains (whose
    /// rewrites need it) and policies; for filter chains [`decide`] names the rule for a given packet.
    pub chains: Vec<(String, ChainVerdict)>,
    pub shadowed: Vec<Origin>,
}

/// Evaluates every chain of the table once.
pub fn table_verdicts(
    space: &Space,
    table: &Table,
    approx: Approx,
) -> Result<TableVerdicts, VerdictError> {
    let mut fast = Eval::new(space, table, approx, false, true);
    let mut detailed = Eval::new(space, table, approx, true, true);
    let mut chains = Vec::new();
    for chain in &table.chains {
        if let Some(base) = chain.base {
            let eval = if base.chain_type == ChainType::Nat {
                &mut detailed
            } else {
                &mut fast
            };
            eval.approximated.clear();
            let out = match eval.done.get(&chain.name) {
                Some(o) => o.clone(),
                None => {
                    let o = eval.chain(chain)?;
                    eval.done.insert(chain.name.clone(), o.clone());
                    o
                }
            };
            let approximated = std::mem::take(&mut eval.approximated);
            chains.push((
                chain.name.clone(),
                settle_base(space, chain, base.policy, out, approx, approximated),
            ));
        }
    }
    // Chains no base chain reaches are still checked for rules that can never match.
    for chain in &table.chains {
        if !fast.done.contains_key(&chain.name) && !detailed.done.contains_key(&chain.name) {
            let o = fast.chain(chain)?;
            fast.done.insert(chain.name.clone(), o);
        }
    }
    let mut shadowed = fast.shadowed.unwrap_or_default();
    for o in detailed.shadowed.unwrap_or_default() {
        if !shadowed.contains(&o) {
            shadowed.push(o);
        }
    }
    Ok(TableVerdicts { chains, shadowed })
}

/// What a chain does with one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Accept,
    Drop,
    /// Falls off the chain or returns (for a base chain, its policy then decides).
    Return,
}

/// What base chain `chain_name` does with one concrete packet, and the rule (or, for its policy, the
/// chain) that decided: the direct first-match walk, read as [`Approx::Permit`] reads what the model does
/// not know (an unknown test matches an accepting rule and not a dropping one; an unknown action accepts).
/// Used to name the rule behind a counterexample.
pub fn decide(
    space: &Space,
    table: &Table,
    chain_name: &str,
    p: &Packet,
) -> Result<(Decision, Origin), VerdictError> {
    let chain = table
        .chain(chain_name)
        .ok_or_else(|| VerdictError::NoSuchChain {
            table: table.name.clone(),
            chain: chain_name.to_owned(),
        })?;
    let mut stack = Vec::new();
    let (decision, origin) = walk(space, table, chain, p, &mut stack)?;
    match (decision, chain.base) {
        (Decision::Return, Some(base)) => Ok((
            match base.policy {
                Policy::Accept => Decision::Accept,
                Policy::Drop => Decision::Drop,
            },
            chain.origin.clone(),
        )),
        _ => Ok((decision, origin.unwrap_or_else(|| chain.origin.clone()))),
    }
}

fn walk(
    space: &Space,
    table: &Table,
    chain: &Chain,
    p: &Packet,
    stack: &mut Vec<String>,
) -> Result<(Decision, Option<Origin>), VerdictError> {
    if stack.contains(&chain.name) {
        let mut chains = stack.clone();
        chains.push(chain.name.clone());
        return Err(VerdictError::Loop {
            table: table.name.clone(),
            chains,
        });
    }
    stack.push(chain.name.clone());
    for rule in &chain.rules {
        let accepting = matches!(
            rule.action,
            Action::Accept
                | Action::Dnat { .. }
                | Action::Redirect { .. }
                | Action::Snat
                | Action::Unknown { .. }
        );
        let holds = rule.matches.iter().all(|m| match space.test(&m.test) {
            Some(set) => space.contains(&set, p) != m.negated,
            None => accepting,
        });
        if !holds {
            continue;
        }
        let target = |name: &str| {
            table
                .chain(name)
                .ok_or_else(|| VerdictError::MissingTarget {
                    table: table.name.clone(),
                    from: chain.name.clone(),
                    target: name.to_owned(),
                    origin: rule.origin.clone(),
                })
        };
        let decided = match &rule.action {
            Action::Accept
            | Action::Dnat { .. }
            | Action::Redirect { .. }
            | Action::Snat
            | Action::Unknown { .. } => Some((Decision::Accept, Some(rule.origin.clone()))),
            Action::Drop | Action::Reject => Some((Decision::Drop, Some(rule.origin.clone()))),
            Action::Continue => None,
            Action::Return => Some((Decision::Return, None)),
            Action::Jump { chain: name } => match walk(space, table, target(name)?, p, stack)? {
                (Decision::Return, _) => None,
                decided => Some(decided),
            },
            Action::Goto { chain: name } => Some(walk(space, table, target(name)?, p, stack)?),
        };
        if let Some(d) = decided {
            stack.pop();
            return Ok(d);
        }
    }
    stack.pop();
    Ok((Decision::Return, None))
}

/// The verdict of a hook for the packets of one family: every base chain on the hook, across the tables that
/// cover the family, in priority order (ties in the order given). An accept ends only its own base chain, a
/// drop is final, so the hook accepts what every base chain accepts; with no base chain it accepts all.
/// `accept` and `drop` partition the valid packets of the family.
pub fn hook_verdict(
    space: &Space,
    rulesets: &[Ruleset],
    family: Family,
    hook: Hook,
    approx: Approx,
) -> Result<ChainVerdict, VerdictError> {
    let domain = space.valid().and(&space.family(family));
    let mut chains: Vec<(i32, &Table, &Chain)> = rulesets
        .iter()
        .flat_map(|r| r.tables.iter())
        .filter(|t| t.family.covers(family))
        .flat_map(|t| t.chains.iter().map(move |c| (t, c)))
        .filter_map(|(t, c)| match c.base {
            Some(b) if b.hook == hook => Some((b.priority, t, c)),
            _ => None,
        })
        .collect();
    chains.sort_by_key(|(p, _, _)| *p);
    let mut accept = domain.clone();
    let mut accepted_by = Vec::new();
    let mut approximated: Vec<Origin> = Vec::new();
    for (_, table, chain) in chains {
        let v = chain_verdict(space, table, &chain.name, approx)?;
        accept = accept.and(&v.accept);
        accepted_by.extend(v.accepted_by);
        for o in v.approximated {
            if !approximated.contains(&o) {
                approximated.push(o);
            }
        }
    }
    let accepted_by = accepted_by
        .into_iter()
        .map(|(o, set)| (o, set.and(&accept)))
        .filter(|(_, set)| !set.is_false())
        .collect();
    Ok(ChainVerdict {
        drop: domain.and_not(&accept),
        accept,
        accepted_by,
        approximated,
    })
}
