# bash completion for l3ctl                                -*- shell-script -*-
# Printed by `l3ctl completion bash`; needs no bash-completion package.
#   source <(l3ctl completion bash)     or copy to /etc/bash_completion.d/l3ctl
# The candidates come from `l3ctl __complete WORDS...` (fast, read-only).
_l3ctl_complete() {
    local i w n joined=0 cur raw cmd out line strip
    local -a words=()
    # Bash splits words at ':' and '=' (COMP_WORDBREAKS): join them back so
    # that "-c router:external" and "--store=/x" reach l3ctl whole.
    for ((i = 1; i <= COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        n=${#words[@]}
        if ((n > 0)) && { [[ $w == [:=] ]] || ((joined)); }; then
            words[n - 1]+=$w
            if [[ $w == [:=] ]]; then joined=1; else joined=0; fi
        else
            words+=("$w")
            joined=0
        fi
    done
    ((${#words[@]})) || words=("")
    cur=${words[${#words[@]} - 1]}
    raw=${COMP_WORDS[COMP_CWORD]}
    cmd=${COMP_WORDS[0]}
    command -v -- "$cmd" >/dev/null 2>&1 || cmd=l3ctl
    out=$("$cmd" __complete "${words[@]}" 2>/dev/null)
    COMPREPLY=()
    if [[ $out == :files ]]; then
        [[ $raw == [:=] ]] && raw=
        compopt -o filenames 2>/dev/null
        while IFS= read -r line; do
            COMPREPLY+=("$line")
        done < <(compgen -f -- "$raw")
        return 0
    fi
    # Candidates are whole words; bash replaces only the piece after a ':' or '='.
    strip=$((${#cur} - ${#raw}))
    while IFS= read -r line; do
        [[ -n $line ]] || continue
        line=${line%%$'\t'*}
        COMPREPLY+=("${line:strip}")
    done <<<"$out"
    return 0
}
complete -F _l3ctl_complete l3ctl
