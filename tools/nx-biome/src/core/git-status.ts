/**
 * Parses `git status --porcelain=v1 -z` output into the paths that make a
 * tree dirty (tracked changes and untracked, non-ignored files).
 */
export function parsePorcelainZ(output: string): string[] {
  const parts = output.split('\0');
  const paths: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const item = parts[i];
    if (item.length < 4) continue;
    const status = item.slice(0, 2);
    paths.push(item.slice(3));
    // Renames and copies carry the original path as the next field.
    if (status[0] === 'R' || status[0] === 'C') i++;
  }
  return [...new Set(paths)].sort();
}
