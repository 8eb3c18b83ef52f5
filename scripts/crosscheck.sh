#!/usr/bin/env bash
# Cross-check apisat's verdicts with ProVerif (issue 12, item 4).
#
# Usage: scripts/crosscheck.sh [--strong] [--only REGEX] PROVERIF [APISAT]
#            [-- EXTRA_PATHS...]
#
#   PROVERIF  a ProVerif 2.x binary (this script never fetches or builds one)
#   APISAT    the apisat binary (default: target/release/apisat, else
#             target/debug/apisat)
#   EXTRA_PATHS  more API or family files, e.g. the bench's cases written
#             with `bench --emit-yaml DIR --no-run` (DIR/*.yaml)
#   --only REGEX  only the files whose path matches REGEX (bash =~, an
#             extended regular expression: 'pkcs11/', '\.spi$')
#   --strong  compare strong secrecy instead of derivability (below)
#
# Files: apis/*.yaml, apis/*.spi, apis/families/*.yaml, apis/pkcs11/*.yaml,
# then EXTRA_PATHS. A file is a family when `apisat batch --format json`
# names one (its lines carry `family`): every variant is exported with
# `apisat export --variant NAME` and compared. A spi file with a YAML twin
# (apis/X.spi, apis/X.yaml) must give the same rows as the twin; the
# summary's note says so, and a difference counts as a disagreement.
#
# Derivability (default): apisat's status per secret from `apisat batch
# --format json`, ProVerif's from `apisat export --to proverif` run through
# PROVERIF (killed after CROSSCHECK_TIMEOUT seconds, default 300), matched
# to the secrets in order. Each row is one of:
#   agree         apisat derivable / ProVerif `is false`; apisat proved,
#                 up-to or not-derivable / ProVerif `is true`
#   DIFFER        decided verdicts that contradict (exit code 1)
#   explained     apisat's attack is abstract only (unconfirmed, or no
#                 stateful attack) and ProVerif proves the export secure:
#                 apisat names a function's fresh values one name, ProVerif
#                 gives each call its own value (the reason says which)
#   not compared  the export has no state (every handle ever output stays
#                 usable): apisat proved with lifetimes, or its attack needs
#                 one object in two states, and ProVerif finds the abstract
#                 (stateless) attack
#   undecided     ProVerif timed out or cannot prove it, a limit stopped
#                 apisat, or ProVerif confirms an attack apisat could not
# The reasons of the last three come from `apisat check --format json`
# (the replay, stateful and lifetime details of the secret), asked only for
# rows that do not agree.
#
# Strong secrecy (--strong): apisat's `check --strong --format json` result
# per secret against `export --strong` (one `noninterf N.` per secret
# name). ProVerif never says noninterf is false: it proves it (`is true`) or
# `cannot be proved`. apisat "holds" must be `is true`; "does not hold" and
# "cannot decide" agree with `cannot be proved`; `is true` where apisat
# cannot decide is undecided (apisat weaker); `is true` where apisat says
# "does not hold" is a disagreement. Secrets without `noninterf` (not a
# name, or a fresh name) are n/a.
#
# A file using XOR cannot be exported to ProVerif (it has no XOR): n/a.
# Prints one summary row per file, then one row per secret: every secret of
# the API files under apis/, and every secret elsewhere (families, extra
# paths) that does not agree. Exit code 1 if any verdict disagrees, 2 on a
# usage error. ProVerif's total run time goes to stderr, so stdout is the
# same for the same inputs.
#
# Needs bash, jq and coreutils' timeout. Takes a few minutes for the 1,024
# PKCS#11 policy variants (apis/families/pkcs11.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    sed -n '2,/^$/p' "$0" | sed '/^set /,$d' | sed 's/^# \{0,1\}//'
    exit 2
}

STRONG=0
ONLY=
POS=()
while [ $# -gt 0 ]; do
    case $1 in
        --strong) STRONG=1; shift ;;
        --only) [ $# -ge 2 ] || usage; ONLY=$2; shift 2 ;;
        --only=*) ONLY=${1#--only=}; shift ;;
        --) shift; break ;;
        -h | --help) usage ;;
        -*) echo "crosscheck: unknown option $1" >&2; exit 2 ;;
        *) POS+=("$1"); shift ;;
    esac
done
EXTRA=("$@")
[ ${#POS[@]} -ge 1 ] && [ ${#POS[@]} -le 2 ] || usage
PROVERIF=${POS[0]}
if [ ${#POS[@]} -eq 2 ]; then
    APISAT=${POS[1]}
elif [ -x target/release/apisat ]; then
    APISAT=target/release/apisat
else
    APISAT=target/debug/apisat
fi
TIMEOUT=${CROSSCHECK_TIMEOUT:-300}

[ -x "$PROVERIF" ] || { echo "crosscheck: no ProVerif binary at $PROVERIF" >&2; exit 2; }
[ -x "$APISAT" ] || { echo "crosscheck: no apisat binary at $APISAT (cargo build --release)" >&2; exit 2; }
command -v jq >/dev/null || { echo "crosscheck: needs jq" >&2; exit 2; }
command -v timeout >/dev/null || { echo "crosscheck: needs timeout (coreutils)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rows=$tmp/rows.tsv   # file, variant, secret, apisat, proverif, result, reason
notes=$tmp/notes.tsv # file, note (the spi twins)
: > "$rows"
: > "$notes"
pv_runs=0
pv_ns=0

pv_version=$("$PROVERIF" -help 2>&1 | head -1 | sed 's/\. Cryptographic.*//' || true)

row() { # file variant secret apisat proverif result reason
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$rows"
}

# Runs ProVerif on $tmp/model.pv into $tmp/pv.out; returns its status.
run_proverif() {
    local status=0 t0 t1
    t0=$(date +%s%N)
    timeout "$TIMEOUT" "$PROVERIF" "$tmp/model.pv" > "$tmp/pv.out" 2>&1 || status=$?
    t1=$(date +%s%N)
    pv_runs=$((pv_runs + 1))
    pv_ns=$((pv_ns + t1 - t0))
    return $status
}

# The first line of ProVerif's output that is not a RESULT, for a reason.
pv_error() {
    grep -v '^RESULT' "$tmp/pv.out" | grep -m1 -i 'error' | tr '\t' ' ' | cut -c1-120 || true
}

# apisat's details of one variant's secrets, for the reason of a row that
# does not agree: label, lifetime result, replay detail, stateful result.
details() { # file variant -> $tmp/details.tsv
    local args=(check --format json "$1")
    [ -n "$2" ] && args+=(--variant "$2")
    "$APISAT" "${args[@]}" 2>/dev/null | jq -r '.[0].secrets[] | [.label,
        (.lifetime.result // ""), (.replay.detail // ""), (.stateful.result // ""),
        (.stateful.calls // "" | tostring)] | join("\u001f")' > "$tmp/details.tsv" || true
}

# Classifies one derivability row; sets result and reason.
classify() { # file variant label ours theirs
    local file=$1 variant=$2 label=$3 ours=$4 theirs=$5
    result=DIFFER
    reason=
    case "$ours:$theirs" in
        derivable:derivable | proved:not\ derivable | up-to:not\ derivable | not-derivable:not\ derivable)
            result=agree; return ;;
        *:timeout) result=undecided; reason="ProVerif killed after ${TIMEOUT} s"; return ;;
        *:cannot\ be\ proved) result=undecided; reason="ProVerif: cannot be proved (no proof, no attack reconstructed)"; return ;;
        *:missing) result=undecided; reason="no RESULT from ProVerif: $(pv_error)"; return ;;
        unknown:*) result=undecided; reason="a limit stopped apisat"; return ;;
    esac
    details "$file" "$variant"
    local lifetime= replay= stateful= scalls=
    IFS=$'\x1f' read -r _ lifetime replay stateful scalls < <(awk -F'\x1f' -v l="$label" '$1 == l' "$tmp/details.tsv") || true
    case "$ours:$theirs" in
        proved:derivable)
            if [ "$lifetime" = proved ]; then
                result="not compared"
                reason="export has no state: apisat proved it with lifetimes (sticky, conflicting attributes: no object holds both at any two times of a run); in the export every handle ever output stays usable, so ProVerif finds the abstract attack"
            else
                reason="apisat proved it; ProVerif finds an attack"
            fi ;;
        unconfirmed:derivable | no-stateful-attack:derivable)
            if [[ $replay == *"two states"* ]]; then
                result="not compared"
                reason="export has no state: apisat's attack needs one object in two states (replay: not confirmed; stateful search: ${stateful:-not run}${scalls:+ within $scalls calls}); the export keeps every handle ever output, so ProVerif finds that abstract attack"
            else
                result=undecided
                reason="apisat weaker: ProVerif reconstructs an attack that apisat's replay could not confirm"
            fi ;;
        unconfirmed:not\ derivable | no-stateful-attack:not\ derivable)
            result=explained
            if [[ $replay == *fresh* ]]; then
                reason="fresh names: apisat's abstract attack uses two values of one fresh name as one (one name per function); replay rejects it${stateful:+, stateful search: $stateful${scalls:+ within $scalls calls}}; ProVerif gives each call its own value and proves it"
            else
                reason="apisat's attack is abstract only (replay: not confirmed${stateful:+, stateful search: $stateful}); ProVerif proves the export secure"
            fi ;;
        derivable:not\ derivable) reason="apisat's attack is confirmed by replay; ProVerif proves the export secure" ;;
        up-to:derivable | not-derivable:derivable) reason="apisat found no attack within its bounds; ProVerif finds one" ;;
        *) reason="unexpected pair" ;;
    esac
}

classify_strong() { # ours theirs
    result=DIFFER
    reason=
    case "$1:$2" in
        holds:true | does\ not\ hold:cannot\ be\ proved | cannot\ decide:cannot\ be\ proved) result=agree ;;
        does\ not\ hold:false | cannot\ decide:false) result=agree ;;
        cannot\ decide:true) result=undecided; reason="apisat weaker: ProVerif proves noninterf where apisat cannot decide" ;;
        *:timeout) result=undecided; reason="ProVerif killed after ${TIMEOUT} s" ;;
        *:missing) result=undecided; reason="no RESULT from ProVerif: $(pv_error)" ;;
        holds:*) reason="apisat: holds; ProVerif cannot prove noninterf" ;;
        does\ not\ hold:true) reason="apisat: does not hold; ProVerif proves noninterf" ;;
        *) reason="unexpected pair" ;;
    esac
}

# Derivability rows of one variant (its batch JSON line in $1).
check_variant() { # file variant family line
    local file=$1 variant=$2 family=$3 line=$4
    local args=(export --to proverif "$file")
    [ -n "$family" ] && args+=(--variant "$variant")
    if [ "$(jq -r '.verdict' <<<"$line")" = error ]; then
        row "$file" "$variant" - - - "n/a" "apisat failed: $(jq -r '.errors[0].message // ""' <<<"$line")"
        return
    fi
    if ! "$APISAT" "${args[@]}" > "$tmp/model.pv" 2> "$tmp/export.err"; then
        if grep -q "cannot express XOR\|has no XOR" "$tmp/export.err"; then
            row "$file" "$variant" - - - "n/a" "n/a: XOR (ProVerif has none)"
        else
            row "$file" "$variant" - - - "n/a" "export failed: $(grep -m1 '^error' "$tmp/export.err" | cut -c1-100)"
        fi
        return
    fi
    local status=0 results=()
    run_proverif || status=$?
    if [ $status -eq 124 ]; then
        mapfile -t results < <(jq -r '.secrets[] | "timeout"' <<<"$line")
    else
        mapfile -t results < <(grep '^RESULT ' "$tmp/pv.out" | sed -E \
            's/.* is false\.$/derivable/; s/.* is true\.$/not derivable/; s/^RESULT .*/cannot be proved/')
    fi
    local i=0 label ours theirs
    while IFS=$'\t' read -r label ours; do
        theirs=${results[$i]:-missing}
        classify "$file" "$variant" "$label" "$ours" "$theirs"
        row "$file" "$variant" "$label" "$ours" "$theirs" "$result" "$reason"
        i=$((i + 1))
    done < <(jq -r '.secrets[] | [.label, .status] | @tsv' <<<"$line")
}

# Strong-secrecy rows of one variant.
check_variant_strong() { # file variant family line
    local file=$1 variant=$2 family=$3 line=$4
    local vargs=()
    [ -n "$family" ] && vargs=(--variant "$variant")
    if [ "$(jq -r '.verdict' <<<"$line")" = error ]; then
        row "$file" "$variant" - - - "n/a" "apisat failed: $(jq -r '.errors[0].message // ""' <<<"$line")"
        return
    fi
    if ! "$APISAT" export --strong --to proverif "$file" ${vargs[@]+"${vargs[@]}"} > "$tmp/model.pv" 2> "$tmp/export.err"; then
        if grep -q "cannot express XOR\|has no XOR" "$tmp/export.err"; then
            row "$file" "$variant" - - - "n/a" "n/a: XOR (ProVerif has none)"
        else
            row "$file" "$variant" - - - "n/a" "export failed: $(grep -m1 '^error' "$tmp/export.err" | cut -c1-100)"
        fi
        return
    fi
    "$APISAT" check --strong --format json "$file" ${vargs[@]+"${vargs[@]}"} 2>/dev/null \
        | jq -r '.[0].secrets[] | [.label, (.strong.result // "none")] | @tsv' > "$tmp/strong.tsv" || true
    # One line per secret, in order: `noninterf N.` or a comment saying why not.
    local asked=()
    mapfile -t asked < <(grep -E '^noninterf |noninterf applies to' "$tmp/model.pv")
    local status=0
    run_proverif || status=$?
    local i=0 label ours theirs name
    while IFS=$'\t' read -r label ours; do
        local decl=${asked[$i]:-}
        i=$((i + 1))
        if [[ $decl != noninterf\ * ]]; then
            local why="no noninterf in the export"
            [[ $decl == *"generated by"* ]] && why="no noninterf: a fresh name (noninterf applies to free names)"
            [[ $decl == *"not a secret name"* ]] && why="no noninterf: not a secret name"
            row "$file" "$variant" "$label" "$ours" "not asked" "n/a" "$why"
            continue
        fi
        name=${decl#noninterf }
        name=${name%.}
        if [ $status -eq 124 ]; then
            theirs=timeout
        else
            theirs=$(grep -m1 -F "RESULT Non-interference $name " "$tmp/pv.out" | sed -E \
                's/.* is true\.$/true/; s/.* is false\.$/false/; s/.* cannot be proved\.$/cannot be proved/' || true)
            [ -n "$theirs" ] || theirs=missing
        fi
        classify_strong "$ours" "$theirs"
        row "$file" "$variant" "$label" "$ours" "$theirs" "$result" "$reason"
    done < "$tmp/strong.tsv"
}

check_file() {
    local file=$1
    # apisat: one JSON line per variant (a plain API file is one variant).
    "$APISAT" batch --format json --no-time "$file" > "$tmp/batch.jsonl" 2>/dev/null || true
    local n=0 line variant family
    while IFS= read -r line; do
        n=$((n + 1))
        IFS=$'\x1f' read -r family variant < <(jq -r '[.family // "", .variant // ""] | join("\u001f")' <<<"$line")
        if [ $STRONG -eq 1 ]; then
            check_variant_strong "$file" "$variant" "$family" "$line"
        else
            check_variant "$file" "$variant" "$family" "$line"
        fi
    done < "$tmp/batch.jsonl"
    [ $n -gt 0 ] || row "$file" - - - - "n/a" "apisat failed"
}

files=()
for f in apis/*.yaml apis/*.spi apis/families/*.yaml apis/pkcs11/*.yaml ${EXTRA[@]+"${EXTRA[@]}"}; do
    [ -e "$f" ] || continue
    if [ -n "$ONLY" ] && ! [[ $f =~ $ONLY ]]; then
        continue
    fi
    files+=("$f")
done
[ ${#files[@]} -gt 0 ] || { echo "crosscheck: no file matches --only $ONLY" >&2; exit 2; }
for f in "${files[@]}"; do
    check_file "$f"
done

# A spi file and its YAML twin (both checked) must give the same rows.
for f in "${files[@]}"; do
    case $f in *.spi) ;; *) continue ;; esac
    twin=${f%.spi}.yaml
    awk -F'\t' -v f="$twin" '$1 == f' "$rows" | cut -f2- > "$tmp/twin.a"
    [ -s "$tmp/twin.a" ] || continue
    awk -F'\t' -v f="$f" '$1 == f' "$rows" | cut -f2- > "$tmp/twin.b"
    if cmp -s "$tmp/twin.a" "$tmp/twin.b"; then
        printf '%s\tsame rows as %s\n' "$f" "$twin" >> "$notes"
    else
        printf '%s\tDIFFERS from %s\n' "$f" "$twin" >> "$notes"
        row "$f" - "(twin)" - - DIFFER "the rows differ from those of $twin"
    fi
done

mode="derivability (query attacker)"
[ $STRONG -eq 1 ] && mode="strong secrecy (noninterf)"
echo "# apisat vs ProVerif, $mode: $("$APISAT" --version) vs ${pv_version:-ProVerif}; ProVerif killed after ${TIMEOUT} s"
echo
echo "| file | variants | secrets | agree | differ | explained | not compared | undecided | n/a | note |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
awk -F'\t' '
    FILENAME == ARGV[1] { extra[$1] = $2; next }
    { if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
      key = $1 SUBSEP $2
      if ($3 != "(twin)" && !(key in v)) { v[key] = 1; variants[$1]++ }
      if ($3 == "(twin)") { differ[$1]++; next }
      if ($6 == "n/a" && $3 == "-") { nav[$1]++; why[$1] = $7; next }
      secrets[$1]++
      if ($6 == "agree") agree[$1]++
      else if ($6 == "DIFFER") differ[$1]++
      else if ($6 == "explained") explained[$1]++
      else if ($6 == "not compared") notcmp[$1]++
      else if ($6 == "undecided") undecided[$1]++
      else na[$1]++ }
    END { for (i = 1; i <= n; i++) { f = order[i]
            nt = ""
            if (nav[f] > 0) nt = (nav[f] == variants[f]) ? why[f] : why[f] " (" nav[f] " variants)"
            if (extra[f] != "") nt = (nt == "" ? "" : nt "; ") extra[f]
            printf "| %s | %d | %d | %d | %d | %d | %d | %d | %d | %s |\n", f, variants[f], secrets[f],
                agree[f], differ[f], explained[f], notcmp[f], undecided[f], na[f], nt
            T[1] += variants[f]; T[2] += secrets[f]; T[3] += agree[f]; T[4] += differ[f]
            T[5] += explained[f]; T[6] += notcmp[f]; T[7] += undecided[f]; T[8] += na[f] }
          printf "| **all %d files** | %d | %d | %d | %d | %d | %d | %d | %d |  |\n", n,
              T[1], T[2], T[3], T[4], T[5], T[6], T[7], T[8] }
' "$notes" "$rows"
echo
echo "Per secret (every secret of the API files in apis/; elsewhere every one that does not agree):"
echo
echo "| file | variant | secret | apisat | ProVerif | result | reason |"
echo "|---|---|---|---|---|---|---|"
awk -F'\t' '
    $3 == "-" { next }
    (($1 ~ /^apis\// && $2 == "") || $6 != "agree") {
        printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7 }' "$rows"
echo "crosscheck: $pv_runs ProVerif runs, $((pv_ns / 1000000)) ms in all (wall clock)" >&2
if awk -F'\t' '$6 == "DIFFER" { bad = 1 } END { exit !bad }' "$rows"; then
    exit 1
fi
