"""Turn Warehouse's ``dev/environment`` (docker env-file syntax) into shell ``export`` lines.

docker compose reads that file with its own rules: ``KEY=value`` per line, ``#`` comments, a value wrapped
in double quotes loses them. A shell cannot source it as it is (values hold spaces), so this writes the
same assignments, each value quoted for the shell.
"""

import shlex
import sys


def main(path: str) -> None:
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, value = line.split("=", 1)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            print(f"export {key.strip()}={shlex.quote(value)}")


if __name__ == "__main__":
    main(sys.argv[1])
