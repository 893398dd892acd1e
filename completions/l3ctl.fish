# fish completion for l3ctl, printed by `l3ctl completion fish`.
#   l3ctl completion fish | source     or save as ~/.config/fish/completions/l3ctl.fish
# The candidates come from `l3ctl __complete WORDS...` (fast, read-only).
function __l3ctl_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l out ($tokens[1] __complete $tokens[2..-1] "$cur" 2>/dev/null)
    if test "$out[1]" = ":files"
        __fish_complete_path "$cur"
        return
    end
    printf '%s\n' $out
end
complete -c l3ctl -f -a '(__l3ctl_complete)'
