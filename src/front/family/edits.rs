//! Applying a variant's edits to its base spec: `$param` substituted,
//! spans moved into the family's line range, and every edit that names
//! what the spec does not hold reported at its place.

use std::collections::{HashMap, VecDeque};

use super::{shift, shift_key, Edits};
use crate::front::diagnostic::{Diagnostic, Span};
use crate::front::spec::{self, NameGroup, RuleDecl, SecretDecl, Spec};
use crate::front::yaml::{Key, Scalar};

impl Edits {
    /// Every string of the edits that may hold `$param`.
    pub(super) fn strings(&self) -> Vec<&Scalar> {
        let mut out: Vec<&Scalar> = Vec::new();
        out.extend(&self.remove_functions);
        for r in self.add_functions.iter().chain(&self.replace_functions) {
            out.push(&r.name);
            out.extend(&r.inputs);
            out.extend(&r.checks);
            out.extend(&r.fresh);
            out.extend(&r.outputs);
            out.extend(r.sets.iter().map(|(_, v)| v));
        }
        out.extend(&self.add_sticky_on);
        out.extend(&self.add_sticky_off);
        for (a, b) in &self.add_conflicts {
            out.push(a);
            out.push(b);
        }
        for (_, cs) in self.remove_checks.iter().chain(&self.add_checks) {
            out.extend(cs);
        }
        out.extend(&self.remove_knowledge);
        out.extend(&self.add_knowledge);
        for g in &self.add_names {
            out.extend(&g.names);
        }
        out.extend(&self.remove_secrets);
        for s in &self.add_secrets {
            out.push(&s.term);
            out.extend(&s.label);
        }
        out
    }

    /// A copy with `$param` substituted and every span moved into the
    /// family's line range.
    pub(super) fn instantiate(&self, params: &[(String, String)]) -> Edits {
        let s = |x: &Scalar| substitute(x, params);
        let rule = |r: &RuleDecl| RuleDecl {
            name: s(&r.name),
            inputs: r.inputs.iter().map(s).collect(),
            checks: r.checks.iter().map(s).collect(),
            fresh: r.fresh.iter().map(s).collect(),
            outputs: r.outputs.iter().map(s).collect(),
            sets: r.sets.iter().map(|(k, v)| (shift_key(k), s(v))).collect(),
            span: shift(r.span),
            intact: r.intact,
        };
        let checks = |cs: &Vec<(Key, Vec<Scalar>)>| {
            cs.iter()
                .map(|(k, v)| (shift_key(k), v.iter().map(s).collect()))
                .collect()
        };
        Edits {
            remove_functions: self.remove_functions.iter().map(s).collect(),
            add_functions: self.add_functions.iter().map(rule).collect(),
            replace_functions: self.replace_functions.iter().map(rule).collect(),
            remove_checks: checks(&self.remove_checks),
            add_checks: checks(&self.add_checks),
            remove_knowledge: self.remove_knowledge.iter().map(s).collect(),
            add_knowledge: self.add_knowledge.iter().map(s).collect(),
            add_names: self
                .add_names
                .iter()
                .map(|g| NameGroup {
                    kind: g.kind,
                    key: shift_key(&g.key),
                    names: g.names.iter().map(s).collect(),
                })
                .collect(),
            remove_secrets: self.remove_secrets.iter().map(s).collect(),
            add_secrets: self
                .add_secrets
                .iter()
                .map(|d| SecretDecl {
                    term: s(&d.term),
                    label: d.label.as_ref().map(s),
                    span: shift(d.span),
                })
                .collect(),
            add_sticky_on: self.add_sticky_on.iter().map(s).collect(),
            add_sticky_off: self.add_sticky_off.iter().map(s).collect(),
            add_conflicts: self
                .add_conflicts
                .iter()
                .map(|(a, b)| (s(a), s(b)))
                .collect(),
            policy_at: self.policy_at.map(shift),
        }
    }
}

/// `$param` replaced by its value; a changed string loses its exact
/// columns (diagnostics then mark the whole string).
pub(super) fn substitute(s: &Scalar, params: &[(String, String)]) -> Scalar {
    let mut out = Scalar {
        text: s.text.clone(),
        kind: s.kind,
        span: shift(s.span),
        content: s.content.map(shift),
        map: None,
    };
    if !s.text.contains('$') {
        return out;
    }
    let mut text = s.text.clone();
    // Longest names first, so `$k1` never eats the start of `$k10`.
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    for (name, value) in sorted {
        text = text.replace(&format!("${{{name}}}"), value);
        text = text.replace(&format!("${name}"), value);
    }
    if text != s.text {
        out.text = text;
        out.content = None;
    }
    out
}

/// The key under which an edit names a term or check: its text without
/// whitespace, which does not matter there.
fn text_key(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// For each of `wanted`, in order, removes the first item of `items` with
/// the same key, as `position` then `remove` would, but in time linear in
/// both lists (a family removing 100k functions of a base of 100k took
/// minutes that way); returns the wanted entries that matched nothing.
fn remove_each<'w, T, W>(
    items: &mut Vec<T>,
    wanted: &'w [W],
    item_key: impl Fn(&T) -> String,
    wanted_key: impl Fn(&W) -> String,
) -> Vec<&'w W> {
    if wanted.is_empty() {
        return Vec::new();
    }
    let mut at: HashMap<String, VecDeque<usize>> = HashMap::new();
    for (i, x) in items.iter().enumerate() {
        at.entry(item_key(x)).or_default().push_back(i);
    }
    let mut removed = vec![false; items.len()];
    let mut missing = Vec::new();
    for w in wanted {
        match at.get_mut(&wanted_key(w)).and_then(VecDeque::pop_front) {
            Some(i) => removed[i] = true,
            None => missing.push(w),
        }
    }
    let mut i = 0;
    items.retain(|_| {
        let keep = !removed[i];
        i += 1;
        keep
    });
    missing
}

/// Where each function of the spec is, by name: the first of each name.
fn function_positions(spec: &Spec) -> HashMap<String, usize> {
    let mut at = HashMap::with_capacity(spec.functions.len());
    for (i, f) in spec.functions.iter().enumerate() {
        at.entry(f.name.text.trim().to_string()).or_insert(i);
    }
    at
}

/// Applies edits to a spec; a mistake (removing what is not there, adding
/// what is) becomes a diagnostic at the edit, in the family's line range.
/// Linear in the edits and the spec; the help texts list at most
/// [`spec::MAX_LISTED`] items, and suggestions spend one budget per
/// variant.
pub(super) fn apply(spec: &mut Spec, e: &Edits, diags: &mut Vec<Diagnostic>) {
    let err = |diags: &mut Vec<Diagnostic>, span: Span, message: String, help: String| {
        // The file is filled in by `relocate` (every edit is in the family
        // file's line range).
        diags.push(Diagnostic::error("", span, message).with_help(help));
    };
    // The attribute policy: lowering checks the names.
    if let Some(at) = e.policy_at {
        match spec.attributes.as_mut() {
            Some(a) => {
                a.sticky_on.extend(e.add_sticky_on.iter().cloned());
                a.sticky_off.extend(e.add_sticky_off.iter().cloned());
                a.conflicts.extend(e.add_conflicts.iter().cloned());
            }
            None => err(
                diags,
                at,
                "the base API declares no `attributes`, so there is no policy to change"
                    .to_string(),
                "declare `attributes: names: [...]` in the base API, or remove this edit"
                    .to_string(),
            ),
        }
    }
    let budget = spec::SuggestBudget::new();
    let missing_function = |spec: &Spec, name: &str| {
        let names = spec.functions.iter().map(|f| f.name.text.trim());
        match spec::suggest_within(name, names, &budget) {
            Some(s) => format!("did you mean `{s}`?"),
            None => {
                let names = spec.functions.iter().map(|f| f.name.text.trim());
                let listed = spec::listing_of(names, spec.functions.len());
                format!("the functions here are: {listed}")
            }
        }
    };
    let missing = remove_each(
        &mut spec.functions,
        &e.remove_functions,
        |f| f.name.text.trim().to_string(),
        |w| w.text.trim().to_string(),
    );
    for name in missing {
        let text = name.text.trim();
        let help = missing_function(spec, text);
        err(
            diags,
            name.span,
            format!("cannot remove `{text}`: the API has no such function"),
            help,
        )
    }
    let mut at = function_positions(spec);
    for f in &e.replace_functions {
        let text = f.name.text.trim();
        match at.get(text) {
            Some(&i) => spec.functions[i] = f.clone(),
            None => {
                let help = format!(
                    "{} (use `add_functions` for a new one)",
                    missing_function(spec, text)
                );
                err(
                    diags,
                    f.name.span,
                    format!("cannot replace `{text}`: the API has no such function"),
                    help,
                )
            }
        }
    }
    for f in &e.add_functions {
        let text = f.name.text.trim();
        if at.contains_key(text) {
            err(
                diags,
                f.name.span,
                format!("cannot add `{text}`: the API already has a function of that name"),
                "use `replace_functions` to change it, or give the new function another name"
                    .to_string(),
            );
        } else {
            at.insert(text.to_string(), spec.functions.len());
            spec.functions.push(f.clone());
        }
    }
    // The function whose checks an edit changes, or an error at its name.
    let checked = |spec: &Spec, diags: &mut Vec<Diagnostic>, function: &Key| {
        let text = function.text.trim();
        let found = at.get(text).copied();
        if found.is_none() {
            let help = missing_function(spec, text);
            err(
                diags,
                function.span,
                format!("`{text}` is not a function of the API"),
                help,
            );
        }
        found
    };
    for (function, checks) in &e.remove_checks {
        let text = function.text.trim();
        let Some(i) = checked(spec, diags, function) else {
            continue;
        };
        let f = &mut spec.functions[i];
        let missing = remove_each(
            &mut f.checks,
            checks,
            |x| text_key(&x.text),
            |c| text_key(&c.text),
        );
        for c in missing {
            let have: Vec<String> = f.checks.iter().map(|x| format!("`{}`", x.text)).collect();
            let help = if have.is_empty() {
                format!("`{text}` has no checks")
            } else {
                format!("its checks are: {}", spec::listing(&have))
            };
            err(
                diags,
                c.span,
                format!("`{text}` has no check `{}`", c.text),
                help,
            )
        }
    }
    for (function, checks) in &e.add_checks {
        if let Some(i) = checked(spec, diags, function) {
            spec.functions[i].checks.extend(checks.iter().cloned());
        }
    }
    let missing = remove_each(
        &mut spec.knowledge,
        &e.remove_knowledge,
        |x| text_key(&x.text),
        |k| text_key(&k.text),
    );
    if !missing.is_empty() {
        let have: Vec<String> = spec
            .knowledge
            .iter()
            .take(spec::MAX_LISTED)
            .map(|x| format!("`{}`", x.text))
            .collect();
        let help = if have.is_empty() {
            "the initial knowledge is empty".to_string()
        } else {
            let listed = spec::listing_of(have.iter().map(String::as_str), spec.knowledge.len());
            format!("write the term as `knowledge` does (spaces do not matter); it holds: {listed}")
        };
        for k in missing {
            err(
                diags,
                k.span,
                format!(
                    "cannot remove `{}`: it is not in the initial knowledge",
                    k.text
                ),
                help.clone(),
            )
        }
    }
    spec.knowledge.extend(e.add_knowledge.iter().cloned());
    spec.names.extend(e.add_names.iter().cloned());
    if e.remove_secrets.is_empty() && e.add_secrets.is_empty() {
        return;
    }
    let implicit = spec.secrets.is_none();
    let secrets = spec.secrets.get_or_insert_with(Vec::new);
    if implicit {
        // No `secrets` list: every secret name is one; make that explicit
        // before changing it.
        for g in spec
            .names
            .iter()
            .filter(|g| g.kind == crate::front::term::NameKind::Secret)
        {
            for n in &g.names {
                secrets.push(SecretDecl {
                    term: n.clone(),
                    label: None,
                    span: n.span,
                });
            }
        }
    }
    let label_of = |s: &SecretDecl| s.label.as_ref().unwrap_or(&s.term).text.trim().to_string();
    let missing = remove_each(secrets, &e.remove_secrets, label_of, |l| {
        l.text.trim().to_string()
    });
    if !missing.is_empty() {
        let labels: Vec<String> = secrets.iter().map(label_of).collect();
        let help = format!("the secrets are: {}", spec::listing(&labels));
        for label in missing {
            let text = label.text.trim();
            err(
                diags,
                label.span,
                format!("cannot remove secret `{text}`: the API has no secret of that label"),
                help.clone(),
            )
        }
    }
    secrets.extend(e.add_secrets.iter().cloned());
}
