// Command lines as a person would type them back: the results files record the qemu and mqbench
// command lines, and a copied line must run as it was.

/** `argv` as one POSIX-shell-quoted string: plain words stay bare, anything else in single quotes. */
export function shellQuote(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ')
}
