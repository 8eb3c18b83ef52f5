//! `apisat explain` and `--format dot`: derivation trees, closest misses,
//! located TERM errors and exit codes, and DOT graphs checked by a small
//! DOT parser of our own (no Graphviz needed).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use apisat::explain::{explain, Explanation, How, TreeNode};
use apisat::lower::{load_file, load_source, parse_ground_term};
use apisat::verdict::{Proof, Settings};

fn snapshot(name: &str, text: &str) {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(format!("{root}/snapshots/explain"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!(name, text));
}

/// Explains `term` in an API file of `apis/`, with the default settings.
fn explain_file(file: &str, term: &str) -> Explanation {
    // Integration tests run in the crate root.
    let mut loaded = load_file(Path::new(file)).expect("the API file loads");
    let t = parse_ground_term(&mut loaded, term).expect("the term parses");
    explain(loaded.program, t, Settings::default())
}

/// Explains `term` in an API given as text.
fn explain_source(src: &str, term: &str) -> Explanation {
    let mut loaded = load_source("inline.yaml", src).expect("the API loads");
    let t = parse_ground_term(&mut loaded, term).expect("the term parses");
    explain(loaded.program, t, Settings::default())
}

fn text(e: &Explanation) -> String {
    apisat::commands::explain::text(e)
}

fn call(node: &TreeNode) -> (&str, Vec<&str>) {
    match &node.how {
        How::Call { name, args } => (name.as_str(), args.iter().map(String::as_str).collect()),
        other => panic!("{} is not obtained by a call: {other:?}", node.term),
    }
}

#[test]
fn vsm_pin_is_derived_by_the_two_call_type_confusion() {
    // The VSM file's own reasoning: EncryptCommsKey(PAN) gives {PAN}TCMK;
    // TranslateCommsKeyToTMK({PAN}TCMK, {P}MK) accepts the misfiled {P}MK
    // as a TMK and gives {PAN}P. Two calls, and no cheaper way exists:
    // building senc(PAN, P) needs P, which itself costs two calls plus a
    // decryption, so the tree's root must be the Translate call.
    let e = explain_file("apis/vsm.yaml", "senc(PAN, P)");
    assert_eq!(e.derivable(), Some(true));
    let root = e.tree.as_ref().expect("a derivation tree");
    assert_eq!(root.term, "senc(PAN, P)");
    assert_eq!(
        call(root),
        (
            "TranslateCommsKeyToTMK",
            vec!["senc(PAN, TCMK)", "senc(P, MK)"]
        )
    );
    assert_eq!(root.children.len(), 2);
    let comms = &root.children[0];
    assert_eq!(comms.term, "senc(PAN, TCMK)");
    assert_eq!(call(comms), ("EncryptCommsKey", vec!["PAN"]));
    // PAN is public and {P}MK is on the host from the start.
    assert_eq!(comms.children[0].term, "PAN");
    assert_eq!(comms.children[0].how, How::Initial);
    assert_eq!(root.children[1].term, "senc(P, MK)");
    assert_eq!(root.children[1].how, How::Initial);
    let out = text(&e);
    assert!(out.contains("derivable with 2 API calls"), "{out}");
    // No fresh value is involved, so the replay is exact.
    assert!(
        out.contains("replay: confirmed: no abstraction is involved"),
        "{out}"
    );
    snapshot("vsm_pin", &out);
}

#[test]
fn vsm_p_tree_ends_in_the_attackers_decryption() {
    // The XOR-to-null-key attack: CombineKeyShares({P}MK, {P}MK) gives
    // {0}MK; SendPDKToTerminal({P}MKP, {0}MK) gives {P}0; the attacker
    // decrypts with the public 0. The same argument twice is one child.
    let e = explain_file("apis/vsm.yaml", "P");
    let root = e.tree.as_ref().expect("a derivation tree");
    assert!(
        matches!(&root.how, How::Deduction { name, .. } if name == "decrypt"),
        "{root:?}"
    );
    let sent = &root.children[0];
    assert_eq!(call(sent).0, "SendPDKToTerminal");
    let zero_token = &sent.children[1];
    assert_eq!(zero_token.term, "senc(0, MK)");
    assert_eq!(
        call(zero_token),
        ("CombineKeyShares", vec!["senc(P, MK)", "senc(P, MK)"])
    );
    assert_eq!(zero_token.children.len(), 1);
    snapshot("vsm_p", &text(&e));
}

#[test]
fn shared_subterm_is_expanded_once_then_referenced() {
    // Leak() hands out K in one call. The pair (K, h(K)) is built by the
    // attacker from K and h(K), and h(K) from K: K is needed twice, its
    // derivation (the call) is shown once, and the second use says
    // "(see above)". One API call in all.
    let src = "names:\n  secret: [K]\nfunctions:\n  - name: Leak\n    inputs: []\n    outputs: [K]\nsecrets: [K]\n";
    let e = explain_source(src, "(K, h(K))");
    let root = e.tree.as_ref().expect("derivable");
    assert!(matches!(&root.how, How::Build { with } if with == "tuple"));
    assert_eq!(root.children[0].term, "K");
    assert_eq!(call(&root.children[0]), ("Leak", vec![]));
    let hk = &root.children[1];
    assert!(matches!(&hk.how, How::Build { with } if with == "h"));
    assert_eq!(hk.children[0].how, How::SeeAbove);
    let out = text(&e);
    assert!(out.contains("K  (see above)"), "{out}");
    assert!(out.contains("derivable with 1 API call\n"), "{out}");
    snapshot("shared_subterm", &out);
}

#[test]
fn paper_typed_api_ki_is_proved_not_derivable() {
    // The file's reasoning: Ki only appears as a key, or tagged DataKey
    // under MK or KEKj; DecryptData releases only TData-tagged plaintexts,
    // and nothing puts a key under TData. check proves it (proof mode),
    // so explain must say proved too.
    let e = explain_file("apis/paper_typed_api.yaml", "Ki");
    assert_eq!(e.derivable(), Some(false));
    assert_eq!(e.report.secrets[0].proof, Some(Proof::Proved));
    let out = text(&e);
    assert!(out.contains("NOT DERIVABLE (proved)"), "{out}");
    // DecryptData outputs its plaintext x: with x = Ki it would need
    // {TData, Ki}k, a TData-tagged Ki, which the attacker never has.
    let m = &e.misses[0];
    assert_eq!(m.via, "DecryptData");
    assert_eq!(m.missing, vec!["senc((TData, Ki), k)"]);
    // The bounded run was cut (EncryptData's free input), but proof mode
    // proved Ki and judged the input against its facts: no fact is a
    // TData-tagged Ki under any key, so the attacker can never obtain one,
    // and the wording says so rather than "within the bounds".
    assert!(e.complete);
    assert!(
        out.contains("needs senc((TData, Ki), k), which the attacker cannot obtain\n"),
        "{out}"
    );
    assert!(!out.contains("within the bounds"), "{out}");
    // ExportDataKey could give {DataKey, KEKj}Ki only from two tokens
    // under MK that nothing makes: each is missing for every attacker.
    let e = explain_file("apis/paper_typed_api.yaml", "senc((DataKey, KEKj), Ki)");
    assert_eq!(e.report.secrets[0].proof, Some(Proof::Proved));
    let export = e
        .misses
        .iter()
        .find(|m| m.via == "ExportDataKey")
        .expect("a miss");
    assert_eq!(
        export.missing,
        vec!["senc((DataKey, KEKj), MK)", "senc((KEKKey, Ki), MK)"]
    );
    assert!(!text(&e).contains("within the bounds"));
    snapshot("paper_ki", &out);
}

#[test]
fn pkcs11_k1_closest_miss_is_decrypt_needing_k1_wrapped() {
    // k1 is not extractable, so Wrap never puts it in a plaintext, and no
    // handle has unwrap set. Decrypt outputs any plaintext m: with m = k1
    // it needs a handle of some key k with decrypt set (the attacker has
    // hdl(k1, ..) with decrypt) and {k1}k, which nothing gives. No bound
    // cuts this run, so "cannot obtain" is definite.
    let e = explain_file("apis/pkcs11_wrap_decrypt.yaml", "k1");
    assert_eq!(e.derivable(), Some(false));
    assert!(e.complete);
    assert_eq!(e.misses.len(), 1, "{:?}", e.misses);
    let m = &e.misses[0];
    assert_eq!(m.via, "Decrypt");
    assert_eq!(m.binding, vec!["m = k1"]);
    assert_eq!(m.needs, vec!["hdl(k, (_, _, _, T, _))", "senc(k1, k)"]);
    assert_eq!(m.missing, vec!["senc(k1, k)"]);
    let out = text(&e);
    assert!(
        out.contains(
            "Decrypt would give k1 from its output m with m = k1, but needs senc(k1, k), \
             which the attacker cannot obtain"
        ),
        "{out}"
    );
    snapshot("pkcs11_k1", &out);
}

#[test]
fn vsm_tmk1_is_proved_and_no_function_outputs_a_name() {
    // Every VSM function outputs an encryption {..}.., never a bare name,
    // so none could give TMK1. The bounded run cut EncryptCommsKey's free
    // input; proof mode (XOR in its ⊕-linear fragment) proves it.
    let e = explain_file("apis/vsm.yaml", "TMK1");
    assert_eq!(e.derivable(), Some(false));
    assert_eq!(e.report.secrets[0].proof, Some(Proof::Proved));
    assert!(e.misses.is_empty());
    let out = text(&e);
    assert!(out.contains("NOT DERIVABLE (proved)"), "{out}");
    assert!(
        out.contains("no API function outputs a term of this shape"),
        "{out}"
    );
}

#[test]
fn a_term_within_the_bounds_names_the_bound_and_the_proof_gap() {
    // `a xor b` with neither bound elsewhere is outside proof mode's XOR
    // fragment, so the bounded run's cut stands: "within the bounds", the
    // bound listed, and the proof gap located.
    let e = explain_source(
        r#"
names: { secret: [K, TMK1] }
functions:
  - name: Combine
    inputs: ["a xor b"]
    outputs: ["{a}K"]
"#,
        "TMK1",
    );
    assert_eq!(e.derivable(), Some(false));
    assert_eq!(e.report.secrets[0].proof, Some(Proof::UpTo));
    let out = text(&e);
    assert!(
        out.contains("NOT DERIVABLE within the bounds below"),
        "{out}"
    );
    assert!(out.contains("bound xor-width 3 [Combine]"), "{out}");
    assert!(
        out.contains(
            "Combine: input 1 a ⊕ b has two variables under XOR that no other input binds"
        ),
        "{out}"
    );
    assert!(
        out.contains("no API function outputs a term of this shape"),
        "{out}"
    );
}

#[test]
fn building_the_term_lists_what_the_attacker_lacks() {
    // senc(TMK1, PAN): the attacker could build it with senc if it had
    // TMK1 (PAN is public). TranslateCommsKeyToTMK and SendPDKToTerminal
    // output {x}tmk shapes that match with x = TMK1, tmk = PAN, but both
    // need {PAN}MK, which nothing gives: the plaintexts under MK are only
    // XORs of P, TMK1 and s (the file's own argument).
    let e = explain_file("apis/vsm.yaml", "senc(TMK1, PAN)");
    assert_eq!(e.derivable(), Some(false));
    let b = e.build.as_ref().expect("senc is public");
    assert_eq!(b.missing, vec!["TMK1"]);
    let vias: Vec<&str> = e.misses.iter().map(|m| m.via.as_str()).collect();
    assert_eq!(vias, vec!["TranslateCommsKeyToTMK", "SendPDKToTerminal"]);
    for m in &e.misses {
        assert!(m.missing.contains(&"senc(PAN, MK)".to_string()), "{m:?}");
    }
    // Proved (proof mode handles VSM's XOR): the misses are judged against
    // proof mode's fixpoint, so they say what the attacker cannot obtain.
    assert_eq!(e.report.secrets[0].proof, Some(Proof::Proved));
    let out = text(&e);
    assert!(out.contains("which the attacker cannot obtain"), "{out}");
    assert!(!out.contains("within the bounds"), "{out}");
}

#[test]
fn xor_in_term_is_read_as_a_secret_using_xor_would_be() {
    // The paper's API has no XOR. Listing `Ki xor MK` under `secrets`
    // would make the program use XOR and give the attacker `0`; TERM
    // does the same, so the engine can build and match XOR terms.
    let src = "names:\n  secret: [K]\n  public: [A]\nsecrets: [K]\n";
    let mut loaded = load_source("inline.yaml", src).expect("the API loads");
    assert!(!loaded.program.uses_xor);
    let t = parse_ground_term(&mut loaded, "A xor K").expect("the term parses");
    assert!(loaded.program.uses_xor);
    let zero = loaded.program.store.zero();
    assert!(loaded.program.knowledge.contains(&zero));
    assert_eq!(loaded.program.store.show(t), "A ⊕ K");
    // K is secret and nothing gives it: not derivable, and building the
    // XOR lacks K.
    let e = explain(loaded.program, t, Settings::default());
    assert_eq!(e.derivable(), Some(false));
    assert_eq!(e.build.expect("XOR is the attacker's").missing, vec!["K"]);
}

#[test]
fn explanations_are_deterministic() {
    let a = text(&explain_file("apis/vsm.yaml", "P"));
    let b = text(&explain_file("apis/vsm.yaml", "P"));
    assert_eq!(a, b);
}

#[test]
fn binary_exit_codes_follow_the_verdict() {
    let (code, out, _) = crate::apisat_bin(&["explain", "apis/vsm.yaml", "senc(PAN, P)"]);
    assert_eq!(code, 1, "derivable: {out}");
    assert!(out.contains("← call EncryptCommsKey(PAN)"), "{out}");
    let (code, out, _) = crate::apisat_bin(&["explain", "apis/paper_typed_api.yaml", "Ki"]);
    assert_eq!(code, 0, "not derivable: {out}");
    // One fact is not enough to saturate anything: a limit, code 3.
    let (code, out, _) =
        crate::apisat_bin(&["explain", "apis/vsm.yaml", "TMK1", "--max-facts", "1"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("UNKNOWN"), "{out}");
}

#[test]
fn bad_term_is_a_located_error_with_exit_code_2() {
    // `Q` is not a name of the VSM: column 11 of `senc(PAN, Q)`.
    let (code, out, err) = crate::apisat_bin(&["explain", "apis/vsm.yaml", "senc(PAN, Q)"]);
    assert_eq!(code, 2);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("error: unknown name `Q`"), "{err}");
    assert!(err.contains("--> TERM:1:11"), "{err}");
    assert!(err.contains("1 | senc(PAN, Q)\n  |           ^\n"), "{err}");
    // A near miss is suggested.
    let (code, _, err) = crate::apisat_bin(&["explain", "apis/vsm.yaml", "TMK2"]);
    assert_eq!(code, 2);
    assert!(err.contains("did you mean `TMK1`?"), "{err}");
    // A syntax error points at the offending token: `P` at column 10.
    let (code, _, err) = crate::apisat_bin(&["explain", "apis/vsm.yaml", "senc(PAN P)"]);
    assert_eq!(code, 2);
    assert!(err.contains("--> TERM:1:10"), "{err}");
    snapshot("bad_term", &err);
}

// ----- DOT ----------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Id(String),
    Str(String),
    Arrow,
    Open(char),
    Close(char),
    Semi,
    Eq,
    Comma,
}

/// Tokenises DOT: identifiers, quoted strings (escapes `\"`, `\\`, `\n`
/// only), `->`, brackets, `;`, `=`, `,`.
fn tokenise(text: &str) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '{' | '[' => toks.push(Tok::Open(c)),
            '}' | ']' => toks.push(Tok::Close(c)),
            ';' => toks.push(Tok::Semi),
            '=' => toks.push(Tok::Eq),
            ',' => toks.push(Tok::Comma),
            '-' if chars.peek() == Some(&'>') => {
                chars.next();
                toks.push(Tok::Arrow);
            }
            '"' => {
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated string".into()),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('"') => s.push('"'),
                            Some('\\') => s.push('\\'),
                            Some('n') => s.push('\n'),
                            other => return Err(format!("bad escape \\{other:?}")),
                        },
                        Some('\n') => return Err("newline in a string".into()),
                        Some(c) => s.push(c),
                    }
                }
                toks.push(Tok::Str(s));
            }
            c if c.is_ascii_alphanumeric() || c == '_' || c == '#' || c == '.' => {
                let mut s = c.to_string();
                while let Some(&d) = chars.peek() {
                    if d.is_ascii_alphanumeric() || d == '_' || d == '#' || d == '.' {
                        s.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                toks.push(Tok::Id(s));
            }
            other => return Err(format!("unexpected character {other:?}")),
        }
    }
    Ok(toks)
}

/// What the parser collects from one digraph.
#[derive(Debug, Default)]
struct Graph {
    /// Node id -> attributes.
    nodes: BTreeMap<String, BTreeMap<String, String>>,
    /// (from, to, attributes).
    edges: Vec<(String, String, BTreeMap<String, String>)>,
    clusters: BTreeSet<String>,
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
}

impl Parser {
    fn next(&mut self) -> Result<Tok, String> {
        let t = self.toks.get(self.at).cloned().ok_or("unexpected end")?;
        self.at += 1;
        Ok(t)
    }
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }
    fn expect(&mut self, t: Tok) -> Result<(), String> {
        let got = self.next()?;
        if got == t {
            Ok(())
        } else {
            Err(format!("expected {t:?}, found {got:?}"))
        }
    }
    fn id(&mut self) -> Result<String, String> {
        match self.next()? {
            Tok::Id(s) | Tok::Str(s) => Ok(s),
            t => Err(format!("expected an id, found {t:?}")),
        }
    }
    /// `[k=v, k=v]`
    fn attrs(&mut self) -> Result<BTreeMap<String, String>, String> {
        let mut out = BTreeMap::new();
        if self.peek() != Some(&Tok::Open('[')) {
            return Ok(out);
        }
        self.next()?;
        loop {
            if self.peek() == Some(&Tok::Close(']')) {
                self.next()?;
                return Ok(out);
            }
            let k = self.id()?;
            self.expect(Tok::Eq)?;
            let v = self.id()?;
            if out.insert(k.clone(), v).is_some() {
                return Err(format!("attribute {k} twice"));
            }
            if self.peek() == Some(&Tok::Comma) {
                self.next()?;
            }
        }
    }
    /// Statements up to the closing `}`.
    fn stmts(&mut self, g: &mut Graph) -> Result<(), String> {
        loop {
            match self.next()? {
                Tok::Close('}') => return Ok(()),
                Tok::Id(kw) if kw == "subgraph" => {
                    let name = self.id()?;
                    if !g.clusters.insert(name.clone()) {
                        return Err(format!("subgraph {name} twice"));
                    }
                    self.expect(Tok::Open('{'))?;
                    self.stmts(g)?;
                }
                Tok::Id(kw) if ["graph", "node", "edge"].contains(&kw.as_str()) => {
                    self.attrs()?;
                    self.expect(Tok::Semi)?;
                }
                Tok::Id(a) | Tok::Str(a) => match self.peek() {
                    Some(Tok::Eq) => {
                        self.next()?;
                        self.id()?;
                        self.expect(Tok::Semi)?;
                    }
                    Some(Tok::Arrow) => {
                        self.next()?;
                        let b = self.id()?;
                        let attrs = self.attrs()?;
                        self.expect(Tok::Semi)?;
                        g.edges.push((a, b, attrs));
                    }
                    _ => {
                        let attrs = self.attrs()?;
                        self.expect(Tok::Semi)?;
                        if g.nodes.insert(a.clone(), attrs).is_some() {
                            return Err(format!("node {a} declared twice"));
                        }
                    }
                },
                t => return Err(format!("unexpected {t:?}")),
            }
        }
    }
}

/// Parses a text of `digraph NAME { ... }` graphs; checks balanced braces
/// (the parser needs them), that every edge endpoint is a declared node and
/// that every node and edge has a label.
fn parse_dot(text: &str) -> Result<Vec<Graph>, String> {
    let mut p = Parser {
        toks: tokenise(text)?,
        at: 0,
    };
    let mut graphs = Vec::new();
    while p.peek().is_some() {
        p.expect(Tok::Id("digraph".into()))?;
        p.id()?;
        p.expect(Tok::Open('{'))?;
        let mut g = Graph::default();
        p.stmts(&mut g)?;
        for (a, b, attrs) in &g.edges {
            for end in [a, b] {
                if !g.nodes.contains_key(end) {
                    return Err(format!("edge endpoint {end} is not a declared node"));
                }
            }
            if !attrs.contains_key("label") {
                return Err(format!("edge {a} -> {b} has no label"));
            }
        }
        for (n, attrs) in &g.nodes {
            if !attrs.contains_key("label") {
                return Err(format!("node {n} has no label"));
            }
        }
        graphs.push(g);
    }
    Ok(graphs)
}

fn node_labelled<'a>(g: &'a Graph, label: &str) -> &'a str {
    g.nodes
        .iter()
        .find(|(_, a)| a.get("label").map(String::as_str) == Some(label))
        .map(|(id, _)| id.as_str())
        .unwrap_or_else(|| panic!("no node labelled {label:?}"))
}

#[test]
fn check_dot_of_vsm_is_a_well_formed_graph_of_both_attacks() {
    let (code, out, err) = crate::apisat_bin(&["check", "--format", "dot", "apis/vsm.yaml"]);
    assert_eq!(code, 1, "{err}");
    let graphs = parse_dot(&out).unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert_eq!(graphs.len(), 1, "one digraph per file");
    let g = &graphs[0];
    // Two derivable secrets (PIN and P), one cluster each.
    assert_eq!(
        g.clusters,
        BTreeSet::from(["cluster_0".to_string(), "cluster_1".to_string()])
    );
    // The PIN attack: EncryptCommsKey passes {PAN}TCMK to Translate, which
    // gives the PIN, the highlighted sink.
    let encrypt = node_labelled(g, "1. EncryptCommsKey");
    let translate = node_labelled(g, "2. TranslateCommsKeyToTMK");
    let pin = node_labelled(g, "PIN = senc(PAN, P)");
    assert_eq!(g.nodes[encrypt]["shape"], "box");
    assert_eq!(g.nodes[pin]["style"], "filled");
    let edge = |a: &str, b: &str, label: &str| {
        g.edges
            .iter()
            .any(|(x, y, attrs)| x == a && y == b && attrs["label"] == label)
    };
    assert!(edge(encrypt, translate, "senc(PAN, TCMK)"), "{out}");
    assert!(edge(translate, pin, "senc(PAN, P)"), "{out}");
    // The P attack: the two calls, then the attacker's decryption with 0.
    node_labelled(g, "1. CombineKeyShares");
    node_labelled(g, "2. SendPDKToTerminal");
    let decrypt = node_labelled(g, "attacker: decrypt");
    assert_eq!(g.nodes[decrypt]["shape"], "ellipse");
    assert!(edge(decrypt, node_labelled(g, "P"), "P"), "{out}");
    snapshot("vsm_dot", &out);
}

#[test]
fn dot_of_a_secure_file_is_one_note() {
    // vsm_fixed has no attack: one note node, no edges.
    let (code, out, _) = crate::apisat_bin(&["check", "--format", "dot", "apis/vsm_fixed.yaml"]);
    assert_eq!(code, 0);
    let graphs = parse_dot(&out).unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert_eq!(graphs[0].nodes.len(), 1);
    assert!(graphs[0].edges.is_empty());
    assert!(
        graphs[0].nodes["note"]["label"].contains("no attack"),
        "{out}"
    );
}

#[test]
fn dot_for_several_files_and_for_explain() {
    // Several files are still one digraph (`dot -Tsvg` then writes one
    // SVG document): a cluster per file holding a cluster per attack.
    let (_, out, _) = crate::apisat_bin(&[
        "check",
        "--format",
        "dot",
        "apis/vsm.yaml",
        "apis/pkcs11_wrap_decrypt.yaml",
        "apis/vsm_fixed.yaml",
    ]);
    let graphs = parse_dot(&out).unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert_eq!(graphs.len(), 1, "exactly one graph\n{out}");
    assert_eq!(out.matches("digraph").count(), 1, "{out}");
    let g = &graphs[0];
    // vsm: PIN and P; pkcs11_wrap_decrypt: k2 (k1 is proved safe);
    // vsm_fixed: a note.
    let clusters: Vec<&str> = g.clusters.iter().map(String::as_str).collect();
    assert_eq!(
        clusters,
        [
            "cluster_f0",
            "cluster_f0_0",
            "cluster_f0_1",
            "cluster_f1",
            "cluster_f1_0",
            "cluster_f2"
        ],
        "{out}"
    );
    assert_eq!(
        g.nodes["f2_note"]["label"], "no attack: no secret is derivable",
        "{out}"
    );
    assert!(
        out.contains("label=\"apis/vsm_fixed.yaml (VSM fixed): SECURE (proved)\";"),
        "the file's cluster names it\n{out}"
    );
    let translate = node_labelled(g, "2. TranslateCommsKeyToTMK");
    assert!(translate.starts_with("f0_"), "{translate}");
    // A family's variants are one graph too.
    let (_, out, _) = crate::apisat_bin(&["check", "--format", "dot", "apis/families/vsm.yaml"]);
    let graphs = parse_dot(&out).unwrap_or_else(|e| panic!("{e}\n{out}"));
    assert_eq!(graphs.len(), 1, "{out}");
    for k in 0..4 {
        assert!(
            graphs[0].clusters.contains(&format!("cluster_f{k}")),
            "{out}"
        );
    }
    let (code, out, _) = crate::apisat_bin(&[
        "explain",
        "--format",
        "dot",
        "apis/pkcs11_wrap_decrypt.yaml",
        "k2",
    ]);
    assert_eq!(code, 1);
    let graphs = parse_dot(&out).unwrap_or_else(|e| panic!("{e}\n{out}"));
    let g = &graphs[0];
    // Wrap then Decrypt (the file's expected attack), k2 the sink.
    let wrap = node_labelled(g, "1. Wrap");
    let decrypt = node_labelled(g, "2. Decrypt");
    assert!(g
        .edges
        .iter()
        .any(|(a, b, at)| a == wrap && b == decrypt && at["label"] == "senc(k2, k1)"));
    node_labelled(g, "k2");
}

#[test]
fn dot_parser_rejects_broken_graphs() {
    // The checks above are only worth something if the parser says no.
    assert!(parse_dot("digraph g { a [label=\"x\"]; ").is_err());
    assert!(parse_dot("digraph g { a [label=\"x\"]; a -> b [label=\"t\"]; }").is_err());
    assert!(parse_dot("digraph g { a [label=\"x\\q\"]; }").is_err());
    assert!(parse_dot("digraph g { a [shape=box]; }").is_err());
    assert!(
        parse_dot("digraph g { a [label=\"x\"]; b [label=\"y\"]; a -> b [label=\"t\"]; }").is_ok()
    );
}

// ----- JSON field order ------------------------------------------------------

/// A JSON value with its objects' keys in the order printed (serde_json's
/// `Value` sorts them, which is what this checks against).
#[derive(Debug)]
enum Ordered {
    Object(Vec<(String, Ordered)>),
    Array(Vec<Ordered>),
    Scalar,
}

impl<'de> serde::Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("JSON")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Ordered>()? {
                    out.push((k, v));
                }
                Ok(Ordered::Object(out))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = s.next_element::<Ordered>()? {
                    out.push(v);
                }
                Ok(Ordered::Array(out))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Ordered, E> {
                Ok(Ordered::Scalar)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Ordered, E> {
                Ok(Ordered::Scalar)
            }
            fn visit_str<E>(self, _: &str) -> Result<Ordered, E> {
                Ok(Ordered::Scalar)
            }
            fn visit_unit<E>(self) -> Result<Ordered, E> {
                Ok(Ordered::Scalar)
            }
        }
        d.deserialize_any(V)
    }
}

impl Ordered {
    fn keys(&self) -> Vec<&str> {
        match self {
            Ordered::Object(fields) => fields.iter().map(|(k, _)| k.as_str()).collect(),
            _ => panic!("not an object: {self:?}"),
        }
    }
    fn get(&self, key: &str) -> &Ordered {
        match self {
            Ordered::Object(fields) => fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("no {key}")),
            _ => panic!("not an object: {self:?}"),
        }
    }
    fn at(&self, i: usize) -> &Ordered {
        match self {
            Ordered::Array(items) => &items[i],
            _ => panic!("not an array: {self:?}"),
        }
    }
}

/// The README's order of a report's fields (its JSON section).
const REPORT_KEYS: [&str; 10] = [
    "file",
    "api",
    "verdict",
    "proof",
    "rests_on",
    "bounds",
    "limit",
    "secrets",
    "proof_gap",
    "stats",
];
const SECRET_KEYS: [&str; 7] = [
    "label",
    "term",
    "derivable",
    "calls",
    "trace",
    "replay",
    "proof",
];

#[test]
fn check_and_explain_json_follow_the_readmes_field_order() {
    // check: a report with an attack (trace, replay, bounds) and a file
    // that fails to load, in one array.
    let (code, out, _) = crate::apisat_bin(&[
        "check",
        "--format",
        "json",
        "apis/vsm.yaml",
        "tests/invalid/unknown_name.yaml",
    ]);
    assert_eq!(code, 2);
    let all: Ordered = serde_json::from_str(&out).expect("check prints JSON");
    let vsm = all.at(0);
    assert_eq!(vsm.keys(), REPORT_KEYS, "{out}");
    assert_eq!(vsm.get("secrets").at(0).keys(), SECRET_KEYS, "{out}");
    assert_eq!(
        vsm.get("secrets").at(0).get("trace").at(0).keys(),
        ["kind", "call", "args", "result"]
    );
    assert_eq!(
        vsm.get("secrets").at(0).get("replay").keys(),
        ["confirmed", "detail"]
    );
    assert_eq!(vsm.get("stats").keys(), ["known", "firings", "functions"]);
    // Bounds: every file in apis/ is proved now, so cut one with max-depth.
    let (_, cut, _) = crate::apisat_bin(&[
        "check",
        "--format",
        "json",
        "--max-depth",
        "1",
        "apis/vsm_fixed.yaml",
    ]);
    let cut: Ordered = serde_json::from_str(&cut).expect("check prints JSON");
    assert_eq!(
        cut.at(0).get("bounds").at(0).keys(),
        ["bound", "value", "rules", "meaning"]
    );
    let bad = all.at(1);
    assert_eq!(bad.keys(), ["file", "errors"], "{out}");
    assert_eq!(
        bad.get("errors").at(0).keys(),
        ["line", "column", "message", "help"]
    );
    // explain: the term, the report of the one-secret check (in the same
    // order), the tree, the misses.
    let (_, out, _) = crate::apisat_bin(&["explain", "--format", "json", "apis/vsm.yaml", "P"]);
    let e: Ordered = serde_json::from_str(&out).expect("explain prints JSON");
    assert_eq!(
        e.keys(),
        ["term", "report", "tree", "misses", "build", "complete"]
    );
    assert_eq!(e.get("report").keys(), REPORT_KEYS);
    assert_eq!(e.get("tree").keys(), ["term", "how", "children"]);
}

#[test]
fn knowledge_json_is_the_set_and_what_it_rests_on() {
    // No bound cuts pkcs11_wrap_decrypt: the set is complete, and equal to
    // the text output's, in its order.
    let (code, out, _) = crate::apisat_bin(&[
        "knowledge",
        "--format",
        "json",
        "apis/pkcs11_wrap_decrypt.yaml",
    ]);
    assert_eq!(code, 1, "k2 leaks");
    let ordered: Ordered = serde_json::from_str(&out).expect("JSON");
    assert_eq!(
        ordered.keys(),
        [
            "file",
            "api",
            "verdict",
            "proof",
            "complete",
            "rests_on",
            "bounds",
            "limit",
            "known",
            "knowledge"
        ]
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["complete"], true);
    assert_eq!(v["bounds"], serde_json::json!([]));
    let (_, text_out, _) = crate::apisat_bin(&["knowledge", "apis/pkcs11_wrap_decrypt.yaml"]);
    let terms: Vec<&str> = v["knowledge"]
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    assert_eq!(terms, text_out.lines().collect::<Vec<_>>());
    assert_eq!(v["known"], terms.len());
    assert!(terms.contains(&"k2"), "{out}");
    // The VSM run is cut by input-depth 0: not complete, and it says so.
    let (_, out, _) = crate::apisat_bin(&["knowledge", "--format", "json", "apis/vsm.yaml"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(v["complete"], false);
    assert_eq!(v["bounds"], serde_json::json!(["input-depth 0"]));
    assert!(
        v["rests_on"]
            .as_str()
            .is_some_and(|s| s.contains("the terms the bounded run obtained")),
        "{out}"
    );
    // A limit: what was known by then.
    let (code, out, _) = crate::apisat_bin(&[
        "knowledge",
        "--format",
        "json",
        "--max-facts",
        "5",
        "apis/vsm.yaml",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(code, 3, "{out}");
    assert_eq!(v["complete"], false);
    assert_eq!(v["limit"]["limit"], "facts");
}
