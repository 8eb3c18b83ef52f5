#!/usr/bin/env bash
# Cross-check apisat's verdicts with ProVerif (issue 12, item 4).
#
# Usage: scripts/crosscheck.sh PROVERIF [APISAT] [-- EXTRA_PATHS...]
#
#   PROVERIF  a ProVerif 2.x binary (this script never fetches or builds one)
#   APISAT    the apisat binary (default: target/release/apisat, else
#             target/debug/apisat)
#   EXTRA_PATHS  more API or family files, e.g. the bench's cases written
#             with `bench --emit-yaml DIR --no-run` (DIR/*.yaml)
#
# For every API file in apis/ and every variant of every family in
# apis/families/ (and the extra paths), it runs `apisat batch --format
# json` for apisat's verdict per secret, writes the API with `apisat
# export --to proverif`, runs ProVerif on it (killed after
# CROSSCHECK_TIMEOUT seconds, default 300) and compares secret by secret:
# apisat "derivable" must be ProVerif's "RESULT not attacker(S) is false",
# apisat "proved" or "up-to" its "is true". A file using XOR cannot be
# exported to ProVerif (it has no XOR): n/a. Prints one table row per API
# file, one per family (with every disagreement listed), then per-secret
# rows for the API files. Exit code 1 if any verdict disagrees.
#
# Needs bash, jq and coreutils' timeout. Deterministic apart from ProVerif's
# run time; takes a few minutes for the 1,024 PKCS#11 policy variants.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ]; then
    sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
PROVERIF=$1
shift
if [ $# -ge 1 ] && [ "$1" != "--" ]; then
    APISAT=$1
    shift
elif [ -x target/release/apisat ]; then
    APISAT=target/release/apisat
else
    APISAT=target/debug/apisat
fi
[ "${1:-}" = "--" ] && shift
EXTRA=("$@")
TIMEOUT=${CROSSCHECK_TIMEOUT:-300}

[ -x "$PROVERIF" ] || { echo "crosscheck: no ProVerif binary at $PROVERIF" >&2; exit 2; }
[ -x "$APISAT" ] || { echo "crosscheck: no apisat binary at $APISAT (cargo build --release)" >&2; exit 2; }
command -v jq >/dev/null || { echo "crosscheck: needs jq" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rows=$tmp/rows.tsv   # file, variant, secret, apisat, proverif, agree
: > "$rows"

pv_version=$("$PROVERIF" -help 2>&1 | head -1 | sed 's/\. Cryptographic.*//' || true)

check_file() {
    local file=$1
    # apisat: one JSON line per variant (a plain API file is one variant).
    "$APISAT" batch --format json --no-time "$file" > "$tmp/batch.jsonl" 2>/dev/null || true
    local n=0
    while IFS= read -r line; do
        n=$((n + 1))
        local variant family
        variant=$(jq -r '.variant // ""' <<<"$line")
        family=$(jq -r '.family // ""' <<<"$line")
        local args=(export --to proverif "$file")
        [ -n "$family" ] && args+=(--variant "$variant")
        if ! "$APISAT" "${args[@]}" > "$tmp/model.pv" 2> "$tmp/export.err"; then
            local why="export failed"
            grep -q "cannot express XOR" "$tmp/export.err" && why="n/a (XOR)"
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$file" "$variant" "-" "-" "-" "$why" >> "$rows"
            continue
        fi
        local status=0
        timeout "$TIMEOUT" "$PROVERIF" "$tmp/model.pv" > "$tmp/pv.out" 2>&1 || status=$?
        local results=()
        if [ $status -eq 124 ]; then
            mapfile -t results < <(jq -r '.secrets[] | "timeout"' <<<"$line")
        else
            mapfile -t results < <(grep '^RESULT ' "$tmp/pv.out" | sed -E \
                's/.* is false\.$/derivable/; s/.* is true\.$/not derivable/; s/^RESULT .*/cannot be proved/')
        fi
        local i=0
        while IFS=$'\t' read -r label ours; do
            local theirs=${results[$i]:-missing}
            local agree=no
            case "$ours:$theirs" in
                derivable:derivable | proved:not\ derivable | up-to:not\ derivable) agree=yes ;;
                *:timeout | *:cannot\ be\ proved | unknown:*) agree="?" ;;
            esac
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$file" "$variant" "$label" "$ours" "$theirs" "$agree" >> "$rows"
            i=$((i + 1))
        done < <(jq -r '.secrets[] | [.label, .status] | @tsv' <<<"$line")
    done < "$tmp/batch.jsonl"
    [ $n -gt 0 ] || printf '%s\t-\t-\t-\t-\t%s\n' "$file" "apisat failed" >> "$rows"
}

for f in apis/*.yaml apis/families/*.yaml "${EXTRA[@]}"; do
    check_file "$f"
done

echo "# apisat vs ProVerif: $("$APISAT" --version) vs ${pv_version:-ProVerif}; ProVerif killed after ${TIMEOUT} s"
echo
echo "| file | variants | secrets compared | agree | differ | undecided | note |"
echo "|---|---:|---:|---:|---:|---:|---|"
awk -F'\t' '
    { if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
      key = $1 SUBSEP $2
      if (!(key in v)) { v[key] = 1; variants[$1]++ }
      if ($6 == "n/a (XOR)" || $6 == "export failed" || $6 == "apisat failed") { note[$1] = $6; na[$1]++; next }
      secrets[$1]++
      if ($6 == "yes") agree[$1]++; else if ($6 == "no") differ[$1]++; else undecided[$1]++ }
    END { for (i = 1; i <= n; i++) { f = order[i]
            nt = note[f]; if (nt != "" && secrets[f] > 0) nt = nt " (" na[f] " variants)"
            printf "| %s | %d | %d | %d | %d | %d | %s |\n", f, variants[f], secrets[f], agree[f], differ[f], undecided[f], nt } }
' "$rows"
echo
echo "Per secret (API files; every disagreement or undecided secret of a family):"
echo
echo "| file | variant | secret | apisat | ProVerif | agree |"
echo "|---|---|---|---|---|---|"
awk -F'\t' '$6 != "n/a (XOR)" && ($2 == "" || $6 != "yes") {
    printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }' "$rows"
if awk -F'\t' '$6 == "no" { bad = 1 } END { exit !bad }' "$rows"; then
    exit 1
fi
