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

use crate::ir::{Action, Chain, Family, Hook, Origin, Policy, Rule, Ruleset, Table};
use crate::space::Space;

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
    /// `Some` when the rules that can never match are wanted ([`shadowed_rules`]).
    shadowed: Option<Vec<Origin>>,
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
        for (i, rule) in chain.rules.iter().enumerate() {
            if remaining.is_false() {
                if let Some(shadowed) = &mut self.shadowed {
                    shadowed.extend(chain.rules[i..].iter().map(|r| r.origin.clone()));
                }
                break;
            }
            let (lo, hi, unknown) = self.bounds(rule);
            if unknown && !matches!(rule.action, Action::Continue) {
                self.note(&rule.origin);
            }
            let may = remaining.and(&hi);
            if may.is_false()
                && let Some(shadowed) = &mut self.shadowed
            {
                shadowed.push(rule.origin.clone());
            }
            let may_not = remaining.and_not(&lo);
            match &rule.action {
                Action::Accept | Action::Dnat { .. } | Action::Redirect { .. } | Action::Snat => {
                    out.accept = out.accept.or(&may);
                    if !may.is_false() {
                        out.accepted_by.push((rule.origin.clone(), may));
                    }
                    remaining = may_not;
                }
                Action::Drop | Action::Reject => {
                    out.drop = out.drop.or(&may);
                    remaining = may_not;
                }
                Action::Continue => {}
                Action::Return => {
                    out.ret = out.ret.or(&may);
                    remaining = may_not;
                }
                Action::Unknown { .. } => {
                    // May accept, may drop, may go on.
                    self.note(&rule.origin);
                    out.accept = out.accept.or(&may);
                    out.drop = out.drop.or(&may);
                    if !may.is_false() {
                        out.accepted_by.push((rule.origin.clone(), may));
                    }
                }
                Action::Jump { chain: target } | Action::Goto { chain: target } => {
                    let sub = self.called(chain, rule, target)?;
                    out.accept = out.accept.or(&sub.accept.and(&may));
                    out.drop = out.drop.or(&sub.drop.and(&may));
                    for (origin, set) in &sub.accepted_by {
                        let set = set.and(&may);
                        if !set.is_false() {
                            out.accepted_by.push((origin.clone(), set));
                        }
                    }
                    let back = sub.ret.and(&may);
                    if matches!(rule.action, Action::Jump { .. }) {
                        remaining = may_not.or(&back);
                    } else {
                        out.ret = out.ret.or(&back);
                        remaining = may_not;
                    }
                }
            }
        }
        out.ret = out.ret.or(&remaining);
        self.stack.pop();
        Ok(out)
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
    let mut eval = Eval {
        space,
        table,
        done: HashMap::new(),
        stack: Vec::new(),
        approximated: Vec::new(),
        shadowed: None,
    };
    let mut out = eval.chain(chain)?;
    match base.policy {
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
    Ok(ChainVerdict {
        accept,
        drop,
        accepted_by,
        approximated: eval.approximated,
    })
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

/// The rules that can never match: every packet that could reach them, from anywhere the chain is called,
/// was decided by the rules before them (or no packet matches them at all). Each chain is judged on every
/// packet that may enter it, so a rule is reported only when no caller could make it match. A rule with a
/// test the model does not know is judged on what it may match, so it is reported only when even that is
/// impossible.
pub fn shadowed_rules(space: &Space, ruleset: &Ruleset) -> Result<Vec<Origin>, VerdictError> {
    let mut out = Vec::new();
    for table in &ruleset.tables {
        let mut eval = Eval {
            space,
            table,
            done: HashMap::new(),
            stack: Vec::new(),
            approximated: Vec::new(),
            shadowed: Some(Vec::new()),
        };
        for chain in &table.chains {
            if !eval.done.contains_key(&chain.name) {
                let outcome = eval.chain(chain)?;
                eval.done.insert(chain.name.clone(), outcome);
            }
        }
        out.extend(eval.shadowed.unwrap_or_default());
    }
    Ok(out)
}
