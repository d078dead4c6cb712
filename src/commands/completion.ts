import { Argument, Command } from 'commander';
import type { Deps } from '../deps.js';
import { ExitCode } from '../errors.js';
import { withExamples, type CommandInput } from './flags.js';

/**
 * `completion SHELL`: a script for bash, zsh, fish or PowerShell. Each script only gathers the words
 * typed so far and asks `egressctl __complete` (commands/complete.ts), which decides the candidates
 * (cobra's protocol: candidates, then `:DIRECTIVE`; bit 2 no space after, bit 4 no file names).
 */
export const SHELLS = ['bash', 'zsh', 'fish', 'powershell'] as const;
export type Shell = (typeof SHELLS)[number];

export function command(): Command {
  const cmd = new Command('completion')
    .description('Print a shell completion script (bash, zsh, fish or powershell)')
    .addArgument(new Argument('<shell>', 'the shell').choices(SHELLS));
  return withExamples(
    cmd,
    `
  source <(egressctl completion bash)                     # bash, this shell only
  egressctl completion bash > /etc/bash_completion.d/egressctl
  egressctl completion zsh > "\${fpath[1]}/_egressctl"      # zsh (compinit on)
  egressctl completion fish > ~/.config/fish/completions/egressctl.fish
  egressctl completion powershell | Out-String | Invoke-Expression
  # kubectl egress: kubectl 1.26+ completes it through kubectl_complete-egress, installed with the package`,
  );
}

export interface Options {
  shell: Shell;
}

export function validate(input: CommandInput): Options {
  return { shell: input.args[0] as Shell };
}

export function run(o: Options, deps: Deps): Promise<number> {
  deps.out.write(renderCompletionScript(o.shell, 'egressctl'));
  return Promise.resolve(ExitCode.Ok);
}

/** The script for `shell`, completing the command `bin`. */
export function renderCompletionScript(shell: Shell, bin: string): string {
  const fn = `_${bin.replace(/[^A-Za-z0-9]/g, '_')}_complete`;
  switch (shell) {
    case 'bash':
      return `# bash completion for ${bin}: source <(${bin} completion bash)
${fn}() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  local out directive line
  out=$("\${COMP_WORDS[0]}" __complete "\${COMP_WORDS[@]:1:COMP_CWORD-1}" "$cur" 2>/dev/null) || return
  directive=\${out##*:}
  out=\${out%:*}
  COMPREPLY=()
  while IFS= read -r line; do
    [[ -n $line ]] && COMPREPLY+=("\${line%%$'\\t'*}")
  done <<<"$out"
  if (( directive & 2 )); then compopt -o nospace 2>/dev/null; fi
  if (( \${#COMPREPLY[@]} == 0 && (directive & 4) == 0 )); then
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  fi
}
complete -F ${fn} ${bin}
`;
    case 'zsh':
      return `#compdef ${bin}
# zsh completion for ${bin}: ${bin} completion zsh > "\${fpath[1]}/_${bin}"
${fn}() {
  local out directive line
  local -a lines cands
  out=$("\${words[1]}" __complete "\${(@)words[2,CURRENT-1]}" "\${words[CURRENT]}" 2>/dev/null) || return
  lines=("\${(@f)out}")
  directive=\${lines[-1]#:}
  for line in "\${(@)lines[1,-2]}"; do
    [[ -n $line ]] || continue
    if [[ $line == *$'\\t'* ]]; then cands+=("\${\${line%%$'\\t'*}//:/\\\\:}:\${line#*$'\\t'}")
    else cands+=("\${line//:/\\\\:}"); fi
  done
  if (( \${#cands} )); then
    if (( directive & 2 )); then _describe '${bin}' cands -S ''; else _describe '${bin}' cands; fi
  elif (( (directive & 4) == 0 )); then
    _files
  fi
}
compdef ${fn} ${bin}
`;
    case 'fish':
      return `# fish completion for ${bin}: ${bin} completion fish > ~/.config/fish/completions/${bin}.fish
function __${bin}_complete
    set -l args (commandline -opc)
    set -l cur (commandline -ct)
    set -l out ($args[1] __complete $args[2..-1] "$cur" 2>/dev/null)
    or return
    set -l directive (string replace -- ':' '' $out[-1])
    set -e out[-1]
    if test (count $out) -eq 0; and test (math "bitand($directive, 4)") -eq 0
        __fish_complete_path "$cur"
        return
    end
    printf '%s\\n' $out
end
complete -c ${bin} -f -a '(__${bin}_complete)'
`;
    case 'powershell':
      return `# PowerShell completion for ${bin}: ${bin} completion powershell | Out-String | Invoke-Expression
Register-ArgumentCompleter -Native -CommandName '${bin}' -ScriptBlock {
  param($wordToComplete, $commandAst, $cursorPosition)
  $words = @($commandAst.CommandElements | Select-Object -Skip 1 | ForEach-Object { $_.ToString() })
  if ($wordToComplete -ne '' -and $words.Count -gt 0) { $words = @($words | Select-Object -SkipLast 1) }
  # An empty argument is dropped by older PowerShell when passed to a native command: quote it.
  $current = if ($wordToComplete -eq '') { '""' } else { $wordToComplete }
  $out = @(& '${bin}' __complete @words $current 2>$null)
  if ($out.Count -eq 0) { return }
  $directive = [int]($out[-1].TrimStart(':'))
  $out | Select-Object -SkipLast 1 | Where-Object { $_ -ne '' } | ForEach-Object {
    $name, $desc = $_ -split "\`t", 2
    if (-not $desc) { $desc = $name }
    if ($directive -band 2) { $text = $name } else { $text = "$name " }
    [System.Management.Automation.CompletionResult]::new($text.TrimEnd(), $name, 'ParameterValue', $desc)
  }
}
`;
  }
}
