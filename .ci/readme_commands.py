"""Prints the README's two set-up commands, one a line: the shell blocks under
"## The two commands", in order (run the demo; run the tests). CI runs them as
written, so the README cannot drift from what CI checks."""

import re
import sys
from pathlib import Path

text = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md").read_text()
section = re.search(r"^## The two commands\n(.*?)(?=^## )", text, re.M | re.S)
if section is None:
    sys.exit("README.md: no '## The two commands' section")
blocks = re.findall(r"^```bash\n(.*?)^```", section.group(1), re.M | re.S)
commands = [b.strip() for b in blocks]
if len(commands) != 2 or any("\n" in c for c in commands):
    sys.exit(f"README.md: expected two one-line bash blocks, found {commands!r}")
print("\n".join(commands))
